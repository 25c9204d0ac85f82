"""Time to integrate the LSA flow to a loss gap of 1e-10 (eigenbasis fast path vs dense solve_ivp), and the
speed-up of the ODE over training the network to the same accuracy of u·U.

Λ = Q diag(geomspace(0.5, 2)) Qᵀ with a random rotation Q (so the dense path gets no help from the basis),
N = 20, σ with σ²‖Γ‖√d = 1. Wall times are medians over ``--repeats``; peak memory from tracemalloc.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
from simulations.linear_regression.protocol import paper_sigma, train_to_minimum

from theory.linear_attention import global_minimizer, integrate_flow


def rotated_cov(d, kappa, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return (Q * np.geomspace(kappa**-0.5, kappa**0.5, d)) @ Q.T


def timed(fn, repeats):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", default="5,20,100")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="results/benchmarks/lsa_flow.json")
    args = ap.parse_args()
    N, rows = 20, []
    integrate_flow(np.eye(2), N, 0.3)  # warm the sympy lambdify cache
    print(f"{'d':>4} {'path':>6} {'median s':>9} {'nfev':>7} {'peak MB':>8} {'gap':>9} {'max|ΔuU|':>9}")
    for d in [int(x) for x in args.dims.split(",")]:
        lam = rotated_cov(d, 4.0)
        sigma = paper_sigma(lam, N, 1.0)
        target = global_minimizer(lam, N)
        for path in ("eigen", "dense"):
            reps = args.repeats if (path == "eigen" or d <= 20) else 1
            sec, peak, res = timed(
                lambda: integrate_flow(lam, N, sigma, t_max=1e6, gap_tol=1e-10, path=path, n_points=20), reps
            )
            err = float(np.max(np.abs(res.V[-1] - target)))
            rows.append(
                {
                    "d": d,
                    "path": path,
                    "seconds": sec,
                    "nfev": int(res.nfev),
                    "peak_bytes": peak,
                    "gap": float(res.gap[-1]),
                    "max_abs_err": err,
                    "repeats": reps,
                }
            )
            print(
                f"{d:>4} {path:>6} {sec:>9.4f} {res.nfev:>7} {peak / 2**20:>8.2f} {res.gap[-1]:>9.1e} {err:>9.1e}"
            )
        e, f = rows[-2], rows[-1]
        print(f"     dense / eigen = {f['seconds'] / e['seconds']:.1f}x")

    print("\nStiff case, κ = 100 (explicit DOP853 needs ~1.75e6 evaluations already at d = 5: ~100 s)")
    stiff = []
    for d in [int(x) for x in args.dims.split(",")]:
        lam = rotated_cov(d, 100.0)
        sigma = paper_sigma(lam, N, 1.0)
        for path, method in (("eigen", "LSODA"), ("dense", "LSODA")):
            if path == "dense" and d > 5:
                continue  # dense LSODA builds a finite-difference (d²+1)² Jacobian: d = 5 only
            sec, peak, res = timed(
                lambda: integrate_flow(
                    lam, N, sigma, t_max=1e7, gap_tol=1e-10, path=path, method=method, n_points=20
                ),
                args.repeats,
            )
            stiff.append(
                {
                    "d": d,
                    "path": path,
                    "method": method,
                    "seconds": sec,
                    "nfev": int(res.nfev),
                    "njev": int(res.njev),
                    "t_converged": res.t_converged,
                }
            )
            print(
                f"{d:>4} {path:>6} {method:>6} {sec:>9.4f} s  nfev {res.nfev:>6} njev {res.njev:>4} "
                f"t* = {res.t_converged:.0f}"
            )

    print(
        "\nODE vs network, time to reach ‖u·U − Γ⁻¹‖/‖Γ⁻¹‖ ≤ 2% (network: SGD + averaging, default protocol)"
    )
    speed = []
    for d in (5, 10):
        lam = np.diag(np.geomspace(0.5**0.5, 2**0.5, d))  # κ = 2, the quick profile's setting
        sigma = paper_sigma(lam, N, 1.0)
        target = global_minimizer(lam, N)
        t_ode, _, res = timed(lambda: integrate_flow(lam, N, sigma, t_max=1e6, gap_tol=1e-10), 3)
        t0 = time.perf_counter()
        net, _, info = train_to_minimum(
            lam, N, sigma_factor=1.0, lr_factor=1.0, batch=512, train_gap=1e-3, average_steps=4000, seed=0
        )
        t_net = time.perf_counter() - t0
        err = float(np.linalg.norm(net.V_avg - target) / np.linalg.norm(target))
        speed.append(
            {
                "d": d,
                "ode_seconds": t_ode,
                "network_seconds": t_net,
                "network_rel_error": err,
                "ode_rel_error": float(np.linalg.norm(res.V[-1] - target) / np.linalg.norm(target)),
                "speedup": t_net / t_ode,
            }
        )
        print(
            f"  d={d:>3}: ODE {t_ode:.3f} s (error {speed[-1]['ode_rel_error']:.1e}), network {t_net:.1f} s "
            f"(error {err:.3f}, {info['steps']} steps) -> ODE is {t_net / t_ode:.0f}x faster"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"flow": rows, "stiff": stiff, "ode_vs_network": speed}, indent=1))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
