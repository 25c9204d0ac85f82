"""Speed of the three-nested-logit flow: one trajectory, and grids of transition times computed by
``transition_times`` (all cells at once, the loss as the clock) next to the per-cell loop of
``integrate_nested_logits`` (one event search per cell) timed in the same process.

Grids: (α₀, ξ₀) ∈ [0, 1]² at β₁ = 0, N = 8, L = 32 (``--grid`` × ``--grid``), and (N, L) ∈ {2 … 51} ×
{2, 4 … 100} from the origin (L >= N). Memory is the tracemalloc peak of one more run. The agreement column
is the largest relative difference between the two methods' transition times over the cells where both
find one (the per-cell loop runs at its default rtol = 1e-8, so its own error, ~1e-8, dominates); cells
that start at the level (``transition_times`` gives 0) are listed apart.

    python benchmarks/bench_nested_logits.py           # 50 × 50 grids (the per-cell loops: about a minute)
    python benchmarks/bench_nested_logits.py --quick   # 20 × 20 grids
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc

import numpy as np

from simulations.storage import write_json
from theory.induction_head import integrate_nested_logits, transition_times


def per_cell(N, L, init, t_max):
    t = integrate_nested_logits(int(N), int(L), init, t_max=t_max).t_transition
    return np.nan if t is None else t


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def peak(fn):
    tracemalloc.start()
    fn()
    p = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return p


def compare(name, fast, loop, loop_row, repeats):
    """Time both, check they agree, print a row and return it (``loop_row``: one row of the loop, for its
    memory peak)."""
    t_fast, T = median_time(fast, repeats)
    t_loop, R = median_time(loop, 1)
    both = np.isfinite(T) & np.isfinite(R) & (R > 0)  # cells that start at the level (0) compared apart
    agree = float(np.max(np.abs(T[both] - R[both]) / R[both])) if np.any(both) else float("nan")
    zero = int(np.sum(T == 0))
    row = {
        "grid": name,
        "cells": int(T.size),
        "transition_times_seconds": t_fast,
        "per_cell_loop_seconds": t_loop,
        "speedup": t_loop / t_fast,
        "transition_times_peak_MB": peak(fast) / 2**20,
        "per_cell_loop_peak_MB": peak(loop_row) / 2**20,
        "max_rel_difference": agree,
        "nan_cells_agree": bool(np.array_equal(np.isnan(T), np.isnan(R))),
        "cells_at_level_from_the_start": zero,
        "per_cell_at_those_cells": [None if np.isnan(r) else float(r) for r in R[T == 0]],
        "repeats": repeats,
    }
    print(
        f"{name:>22} {T.size:>6} {t_fast:>9.3f} {t_loop:>9.2f} {t_loop / t_fast:>7.1f}x "
        f"{row['transition_times_peak_MB']:>8.1f} {row['per_cell_loop_peak_MB']:>8.1f} {agree:>9.1e} "
        f"{row['nan_cells_agree']!s:>6}"
    )
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=None, help="cells per axis (default 50, 20 with --quick)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="results/benchmarks/nested_logits.json")
    args = ap.parse_args()
    n = args.grid or (20 if args.quick else 50)

    integrate_nested_logits(8, 32, 0.0)  # sympy derivation and lambdify, once
    transition_times(8, 32, 0.0)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    t_one, tr = median_time(lambda: integrate_nested_logits(8, 32, 0.0, t_max=1e5), 21)
    t_one_fast, _ = median_time(lambda: transition_times(8, 32, 0.0, t_max=1e5), 21)
    print(
        f"one trajectory (origin, N = 8, L = 32): integrate_nested_logits {t_one * 1e3:.1f} ms "
        f"({tr.nfev} evaluations, t* = {tr.t_transition:.4f}); transition_times {t_one_fast * 1e3:.1f} ms"
    )

    print(
        f"\n{'grid':>22} {'cells':>6} {'fast s':>9} {'loop s':>9} {'speedup':>8} {'peak MB':>8} "
        f"{'loop MB':>8} {'max rel':>9} {'NaNs=':>6}"
    )
    g = np.linspace(0, 1, n)
    init = np.stack(np.broadcast_arrays(0.0, g[:, None], g[None, :]), axis=-1)
    rows = [
        compare(
            f"init {n}x{n} (a0, x0)",
            lambda: transition_times(8, 32, init, t_max=1e5),
            lambda: np.array([[per_cell(8, 32, init[i, j], 1e5) for j in range(n)] for i in range(n)]),
            lambda: [per_cell(8, 32, init[-1, j], 1e5) for j in range(n)],
            args.repeats,
        )
    ]
    Ns = np.arange(2, 2 + n)[:, None]
    Ls = np.maximum(np.arange(2, 2 + 2 * n, 2)[None, :], Ns)
    NN, LL = np.broadcast_arrays(Ns, Ls)
    rows.append(
        compare(
            f"(N, L) {n}x{n}",
            lambda: transition_times(Ns, Ls, 0.0, t_max=1e6),
            lambda: np.array([[per_cell(NN[i, j], LL[i, j], 0.0, 1e6) for j in range(n)] for i in range(n)]),
            lambda: [per_cell(NN[-1, j], LL[-1, j], 0.0, 1e6) for j in range(n)],
            args.repeats,
        )
    )
    out = {
        "one_trajectory_ms": t_one * 1e3,
        "one_cell_transition_times_ms": t_one_fast * 1e3,
        "grids": rows,
        "meta": {"load_average_at_end": os.getloadavg(), "memory": "tracemalloc peak"},
    }
    print(f"\nwritten {write_json(args.out, out)}")


if __name__ == "__main__":
    main()
