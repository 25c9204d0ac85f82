"""Milliseconds per SGD step of the classification network at the paper's size, and effective GFLOP/s
against a large numpy matmul measured in the same run.

Paper size: batch 128, N = 8 (T = 17 tokens), P + D = 128, L = 32, MLP width 128. FLOPs are counted
analytically for the matrix products of one ``loss_and_grads`` call (2 per multiply-add; elementwise work
is not counted), so GFLOP/s is a lower bound on what the step sustains.

The loop is the trainer's: a fresh batch, then one step (data time is reported apart). The run is cut into
blocks of one 2048² float32 matmul followed by ``--steps`` steps, so each block's fraction of the matmul
peak compares the two at the same moment (this machine's speed drifts by ±20% within a minute). Minor page
faults per step show what ``--glibc-defaults`` costs (simulations/memory.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np
from simulations.classification import DataConfig, Task
from simulations.classification.network import init_params, loss_and_grads
from simulations.classification.train import sgd_update

from simulations.memory import keep_freed_memory


def step_flops(B: int, T: int, W: int, H: int, L: int) -> int:
    """Matrix-product FLOPs of forward + backward (see the docstring of network.py for the algebra)."""
    fwd = (
        2 * W**3
        + 2 * B * T * W * W  # M₁ = Q₁ᵀK₁ and the projection u M₁
        + 2 * B * T * T * W  # layer-1 scores
        + 2 * B * T * W
        + 2 * B * W * W  # target's layer-1 output: Σ_j p1_Tj u_j, then V₁
        + 3 * 2 * B * W * W
        + 2 * 2 * B * T * W
        + 2 * B * T * T  # q2, kt, V₁ᵀkt; scores u·kt, u·V₁ᵀkt, p1 (·)
        + 2 * B * T * T
        + 2 * 2 * B * T * W
        + 2 * 2 * B * W * W  # w2, Σ p2 u, Σ w2 u, V₁ (·), V₂ c
        + 2 * B * (W * H + 2 * H * H + H * L)
    )  # MLP + read-out
    bwd = (
        2 * B * (2 * H * L + 2 * (W * H + 2 * H * H))  # read-out and MLP: weight and input gradients
        + 3 * 2 * B * W * W
        + 2 * 2 * B * T * W
        + 2 * 2 * B * T * T  # dV₂, dc, V₁ᵀdc; dcv, u·dc; dp2, ds2 p1
        + 2 * 2 * B * T * W
        + 5 * 2 * B * W * W  # Σ ds2 u, Σ (ds2 p1) u; V₁ (·), dK₂, dq2, dQ₂, r
        + 3 * 2 * B * W * W  # dV₁
        + 2 * B * W * W
        + 2 * B * T * W  # u · V₁ᵀr
        + 2 * B * T * T * W
        + 2 * B * T * W * W
        + 2 * 2 * W**3
    )  # ds1 u, dM₁, dQ₁, dK₁
    return int(fwd + bwd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=12, help="blocks of (one reference matmul, then steps)")
    ap.add_argument("--steps", type=int, default=25, help="SGD steps per block")
    ap.add_argument("--out", default="results/benchmarks/icl_step.json")
    ap.add_argument(
        "--glibc-defaults",
        action="store_true",
        help="leave glibc's malloc thresholds alone (the trainer raises them: simulations/memory.py)",
    )
    args = ap.parse_args()
    tuned = False if args.glibc_defaults else keep_freed_memory()
    cfg = DataConfig()
    B = 128
    task = Task(cfg)
    rng = np.random.default_rng(0)
    flops = step_flops(B, cfg.T, cfg.width, cfg.width, cfg.L)
    A = rng.standard_normal((2048, 2048)).astype(np.float32)
    C = np.empty_like(A)  # preallocated: freeing a 16 MB result would move glibc's dynamic mmap threshold
    rows = {"malloc_thresholds_raised": tuned, "step_mflop": flops / 1e6}
    print(f"malloc thresholds raised: {tuned}; one step = {flops / 1e6:.1f} MFLOP in products")
    peaks = []
    for dtype in (np.float32, np.float64):
        params = init_params(cfg, rng, dtype=dtype)
        t_data, t_step, fractions, faults = [], [], [], []
        for block in range(args.blocks + 1):  # block 0 warms up
            t0 = time.perf_counter()
            np.matmul(A, A, out=C)
            peak = 2 * 2048**3 / (time.perf_counter() - t0) / 1e9
            steps = []
            for _ in range(args.steps):  # as the trainer does: a fresh batch, then one SGD step
                t0 = time.perf_counter()
                batch = task.sample(rng, B, dtype=dtype)
                f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                t1 = time.perf_counter()
                _, g = loss_and_grads(params, batch.tokens, batch.labels)
                sgd_update(params, g, 0.01, 1e-6)
                steps.append(time.perf_counter() - t1)
                faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f1)
                t_data.append(t1 - t0)
            if block:
                t_step += steps
                peaks.append(peak)
                fractions.append(flops / statistics.median(steps) / 1e9 / peak)
        t = statistics.median(t_step)
        rows[np.dtype(dtype).name] = {
            "ms_per_step": t * 1e3,
            "ms_per_step_quartiles": [q * 1e3 for q in statistics.quantiles(t_step)[::2]],
            "ms_data": statistics.median(t_data) * 1e3,
            "gflops": flops / t / 1e9,
            "page_faults_per_step": statistics.mean(faults[len(faults) // 2 :]),
            "fraction_of_matmul_peak": statistics.median(fractions),
        }
    rows["matmul_2048_float32_gflops"] = statistics.median(peaks)
    print(
        f"numpy float32 2048² matmul: {rows['matmul_2048_float32_gflops']:.1f} GFLOP/s (median of {len(peaks)})"
    )
    for name in ("float32", "float64"):
        r = rows[name]
        lo, hi = r["ms_per_step_quartiles"]
        print(
            f"{name}: {r['ms_per_step']:.2f} ms/step (quartiles {lo:.2f}–{hi:.2f}), data {r['ms_data']:.2f} ms/batch, "
            f"{r['gflops']:.1f} GFLOP/s = {r['fraction_of_matmul_peak']:.0%} of the matmul peak (median over blocks), "
            f"{r['page_faults_per_step']:.0f} page faults per step"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
