"""Time and memory of the LSA flow to a loss gap of 1e-10, each next to a reference timed in the same process.

Cases (N = 20, σ with σ²‖Γ‖√d = 1, default Θ):

* rotated Λ = Q diag(geomspace(κ^-½, κ^½)) Qᵀ with a random rotation Q, against one ``numpy.linalg.eigh(Λ)``
  (the eigen path cannot do less than that one diagonalisation);
* Λ given diagonal (in its eigenbasis; at d = 10⁴ the input alone is 800 MB), against ``eigh`` of a
  rotated d = 1000 Λ (a fixed yardstick of this machine's speed: no diagonalisation is needed there);
* the dense path (d² + 1 equations, the reference integrator) against the eigen path, small d;
* with ``--network``: the ODE against training the network to 2% of u·U
  (``simulations.linear_attention.flow_vs_network``), d = 5 and 10.

Times are medians over ``--repeats`` runs; memory is the tracemalloc peak of one more run (every numpy and
Python allocation, not LAPACK's internal workspace), next to the same for ``eigh``. The accuracy column is
max_i |u·Ũ_ii − 1/g_i| at the end, the distance of u·U from Γ⁻¹ in Λ's eigenbasis.

    python benchmarks/bench_lsa_flow.py            # all cases (about a minute on 2 idle cores)
    python benchmarks/bench_lsa_flow.py --quick    # without the stiff d = 10⁴ case and with fewer repeats
    python benchmarks/bench_lsa_flow.py --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import statistics
import time
import tracemalloc

import numpy as np

from simulations.storage import write_json
from theory.linear_attention import integrate_flow

N = 20


def rotated_cov(d, kappa, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    lam = (Q * np.geomspace(kappa**-0.5, kappa**0.5, d)) @ Q.T
    return 0.5 * (lam + lam.T)


def timed(fn, repeats):
    """(median seconds, tracemalloc peak bytes of one more run, last result)."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak, out


def endpoint_error(res):
    """max_i |u·Ũ_ii − 1/g_i| at the last time (fixed Λ): u·U against Γ⁻¹ in Λ's eigenbasis."""
    ev = res.eigenvalues
    g = (1 + 1 / N) * ev + ev.sum() / N
    return float(np.max(np.abs(res.V_modes_at(res.t[-1]) - 1 / g)))


def flow_row(case, cov, d, kappa, repeats, ref_seconds, ref_peak, ref_name, **kw):
    sec, peak, res = timed(lambda: integrate_flow(cov, N, t_max=1e7, gap_tol=1e-10, **kw), repeats)
    row = {
        "case": case,
        "d": d,
        "kappa": kappa,
        "method": res.method,
        "seconds": sec,
        "reference": ref_name,
        "reference_seconds": ref_seconds,
        "time_ratio": sec / ref_seconds,
        "peak_MB": peak / 2**20,
        "reference_peak_MB": ref_peak / 2**20,
        "steps": len(res.t),
        "nfev": int(res.nfev),
        "njev": int(res.njev),
        "gap": float(res.gap[-1]),
        "endpoint_error": endpoint_error(res),
        "repeats": repeats,
    }
    print(
        f"{case:>9} {d:>6} {kappa:>5g} {res.method:>6} {sec:>8.3f} {ref_seconds:>8.3f} "
        f"{sec / ref_seconds:>6.2f}x {peak / 2**20:>8.1f} {ref_peak / 2**20:>7.1f} {len(res.t):>6} "
        f"{res.nfev:>6} {res.gap[-1]:>8.1e} {row['endpoint_error']:>8.1e}"
    )
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the stiff d = 10^4 case; 3 repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="limit BLAS threads (threadpoolctl)")
    ap.add_argument("--network", action="store_true", help="also time the ODE against training (minutes)")
    ap.add_argument("--out", default="results/benchmarks/lsa_flow.json")
    args = ap.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    ctx = contextlib.nullcontext()
    if args.threads is not None:
        from simulations.threads import blas_threads

        ctx = blas_threads(args.threads)
    with ctx:
        out = run(args, repeats)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS {rss:.0f} MB (inputs included)")
    out["meta"] = {
        "threads": args.threads,
        "load_average_at_end": os.getloadavg(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory": "tracemalloc peak (numpy and Python allocations; LAPACK workspace not included)",
        "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(f"\nwritten {write_json(args.out, out)}")


def run(args, repeats):
    integrate_flow(np.eye(2), N, 0.3)  # the sympy derivation and lambdify, once
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
        f"BLAS threads: {args.threads or 'default'}"
    )
    print(
        f"{'case':>9} {'d':>6} {'kappa':>5} {'method':>6} {'median s':>8} {'ref s':>8} {'ratio':>7} "
        f"{'peak MB':>8} {'ref MB':>7} {'steps':>6} {'nfev':>6} {'gap':>8} {'|uU-G⁻¹|':>8}"
    )
    rows = []
    yard = rotated_cov(1000, 4.0)
    yard_s, yard_peak, _ = timed(lambda: np.linalg.eigh(yard), repeats)
    cases = [("rotated", 100, 4.0), ("rotated", 1000, 4.0), ("diagonal", 10_000, 4.0)]
    cases += [("rotated", 100, 100.0), ("rotated", 1000, 100.0)]
    if not args.quick:
        cases.append(("diagonal", 10_000, 100.0))
    for case, d, kappa in cases:
        if case == "rotated":
            cov = rotated_cov(d, kappa)
            ref_s, ref_peak, _ = (
                (yard_s, yard_peak, None)
                if (d, kappa) == (1000, 4.0)
                else (timed(lambda cov=cov: np.linalg.eigh(cov), repeats))
            )
            rows.append(flow_row(case, cov, d, kappa, repeats, ref_s, ref_peak, "eigh(Λ)"))
        else:
            cov = np.diag(np.geomspace(kappa**-0.5, kappa**0.5, d))
            reps = repeats if kappa < 10 else 1
            rows.append(flow_row(case, cov, d, kappa, reps, yard_s, yard_peak, "eigh(rotated Λ, d = 1000)"))
        rows[-1]["input_MB"] = cov.nbytes / 2**20
        rows[-1]["process_max_rss_MB_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        del cov  # before the next case builds its own

    print("\nDense path (d² + 1 equations, DOP853) against the eigen path, rotated Λ, κ = 4")
    dense = []
    for d in (5, 20, 100):
        cov = rotated_cov(d, 4.0)
        se, _, e = timed(lambda cov=cov: integrate_flow(cov, N, t_max=1e7, gap_tol=1e-10), repeats)
        reps = repeats if d <= 20 else 1
        sd, _, f = timed(lambda cov=cov: integrate_flow(cov, N, t_max=1e7, gap_tol=1e-10, path="dense"), reps)
        dense.append(
            {
                "d": d,
                "eigen_seconds": se,
                "eigen_method": e.method,
                "dense_seconds": sd,
                "dense_over_eigen": sd / se,
                "dense_nfev": int(f.nfev),
                "eigen_nfev": int(e.nfev),
            }
        )
        print(
            f"  d = {d:>3}: eigen {se:.3f} s ({e.method}), dense {sd:.3f} s -> dense / eigen = {sd / se:.1f}x"
        )

    speed = []
    if args.network:
        from simulations.linear_attention import flow_vs_network

        print("\nODE against training the network (flow_vs_network: SGD + averaging, default protocol)")
        for d in (5, 10):
            cov = np.diag(np.geomspace(0.5**0.5, 2**0.5, d))
            t_ode, _, _ = timed(lambda cov=cov: integrate_flow(cov, N, t_max=1e6, gap_tol=1e-10), 3)
            t0 = time.perf_counter()
            cmp = flow_vs_network(cov, N)
            t_net = time.perf_counter() - t0
            speed.append(
                {
                    "d": d,
                    "ode_seconds": t_ode,
                    "ode_and_network_seconds": t_net,
                    "network_rel_error": cmp.endpoint_error,
                    "speedup": t_net / t_ode,
                }
            )
            print(
                f"  d = {d:>2}: ODE {t_ode:.3f} s; ODE + network {t_net:.1f} s (network error "
                f"{cmp.endpoint_error:.3f}) -> {t_net / t_ode:.0f}x"
            )
    return {"flow": rows, "dense_vs_eigen": dense, "ode_vs_network": speed}


if __name__ == "__main__":
    main()
