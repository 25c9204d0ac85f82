"""Speed of the three-nested-logit gradient flow: one trajectory (origin to P(right) ≥ 0.99) and a 50 × 50
grid of initial conditions (α₀, ξ₀) ∈ [0, 1]², β₁ = 0, N = 8, L = 32. Goals: ≤ 10 ms and ≤ 30 s."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from theory.induction_head import integrate_nested_logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=int, default=50)
    ap.add_argument("--out", default="results/benchmarks/nested_logits.json")
    args = ap.parse_args()
    integrate_nested_logits(8, 32, 0.0)  # sympy derivation and lambdify, once
    ts = []
    for _ in range(21):
        t0 = time.perf_counter()
        tr = integrate_nested_logits(8, 32, 0.0, t_max=1e5)
        ts.append(time.perf_counter() - t0)
    one = statistics.median(ts)
    print(
        f"one trajectory: {one * 1e3:.1f} ms (median of 21, {tr.nfev} evaluations, t* = {tr.t_transition:.2f})"
    )
    g = np.linspace(0, 1, args.grid)
    t0 = time.perf_counter()
    T = np.array(
        [[integrate_nested_logits(8, 32, [0.0, a, x], t_max=1e5).t_transition for x in g] for a in g]
    )
    grid = time.perf_counter() - t0
    print(
        f"{args.grid} x {args.grid} grid: {grid:.1f} s ({grid / args.grid**2 * 1e3:.1f} ms a trajectory); "
        f"transition time from {np.nanmin(T.astype(float)):.2f} to {np.nanmax(T.astype(float)):.2f}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"one_trajectory_ms": one * 1e3, "grid_seconds": grid, "grid": args.grid}, indent=1)
    )


if __name__ == "__main__":
    main()
