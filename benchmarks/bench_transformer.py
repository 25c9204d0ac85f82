"""Milliseconds per Adam step of the numpy GPT-2-style transformer (linear_attention/transformer.py)
at a quick size and at Zhang, Frei & Bartlett's size, next to references timed in the same run:

* numpy's float32 GEMM rate (a 2048² matmul), and the step's matrix-product FLOP count → fraction of peak;
* if ``import torch`` works, the same model's training step in PyTorch on CPU (same thread count, float32,
  ``torch.optim.Adam``, weights copied from the numpy model and its forward checked against ours) → ratio.

FLOPs are counted analytically for the matrix products of one ``loss_and_grads`` call (2 per multiply-add;
the full T × T score matrices, masked half included; elementwise work not counted) for the standard model,
as PyTorch computes it; the numpy step skips the last block's y-token queries and MLP, so it does fewer and
GFLOP/s is "model FLOPs per second". With n = B·T tokens, width W, L layers: forward 24nW² + 4nTW per
layer, the backward twice that, plus the read-in. torch is only imported here (``pip install torch``), never
a dependency of the package.

Each case is timed in blocks: one 2048² float32 matmul, then ``--steps`` numpy steps, then as many torch
steps, so each block's fraction of peak and torch ratio compare the two at the same moment (machines shared
with other jobs drift by tens of percent within a minute). Medians over blocks are reported.

    python benchmarks/bench_transformer.py                 # both sizes, 1 thread
    python benchmarks/bench_transformer.py --only quick --blocks 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from simulations.linear_attention.prompts import PromptDistribution
from simulations.linear_attention.transformer import (
    AdamState,
    TransformerConfig,
    adam_update,
    init_params,
    loss_and_grads,
    n_params,
    predict_prefixes,
)
from simulations.memory import keep_freed_memory
from simulations.storage import write_json
from simulations.threads import blas_threads

CASES = {
    "quick": dict(model=dict(d=5, width=64, layers=3, heads=4), N=20, batch=64, steps=10, blocks=8),
    "paper": dict(model=dict(d=20, width=256, layers=12, heads=8), N=40, batch=64, steps=2, blocks=3),
}


def step_flops(B: int, N: int, d: int, W: int, L: int) -> int:
    """Matrix-product FLOPs of one forward + backward on B prompts of N examples (T = 2N − 1 tokens)."""
    T = 2 * N - 1
    n = B * T
    per_layer = 3 * (24 * n * W * W + 4 * n * T * W)  # forward, then input and weight gradients
    read_in = 2 * 2 * n * (d + 1) * W
    read_out = 2 * 2 * B * N * W
    return int(L * per_layer + read_in + read_out)


def matmul_gflops(A, C) -> float:
    t0 = time.perf_counter()
    np.matmul(A, A, out=C)
    return 2 * A.shape[0] ** 3 / (time.perf_counter() - t0) / 1e9


# ----------------------------------------------------------------------------------------------- torch


def torch_model(params: dict, heads: int):
    """The same network in PyTorch (weights copied), or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    tp = {k: torch.nn.Parameter(torch.from_numpy(np.array(v, dtype=np.float32))) for k, v in params.items()}
    F = torch.nn.functional

    def forward(tok):  # tok (B, T, d+1)
        B, T, _ = tok.shape
        L, W = tp["ln1_g"].shape
        dh = W // heads
        h = tok @ tp["W_in"] + tp["b_in"]
        if "pos" in tp:
            h = h + tp["pos"][:T]
        for layer in range(L):
            a = F.layer_norm(h, (W,), tp["ln1_g"][layer], tp["ln1_b"][layer], 1e-5)
            qkv = a @ tp["W_qkv"][layer].reshape(W, 3 * W) + tp["b_qkv"][layer].reshape(3 * W)
            q, k, v = qkv.reshape(B, T, 3, heads, dh).permute(2, 0, 3, 1, 4)
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            o = o.transpose(1, 2).reshape(B, T, W)
            h = h + o @ tp["W_o"][layer].reshape(W, W) + tp["b_o"][layer]
            c = F.layer_norm(h, (W,), tp["ln2_g"][layer], tp["ln2_b"][layer], 1e-5)
            z = F.gelu(c @ tp["W_fc"][layer] + tp["b_fc"][layer], approximate="tanh")
            h = h + z @ tp["W_pr"][layer] + tp["b_pr"][layer]
        f = F.layer_norm(h[:, 0::2], (W,), tp["lnf_g"], tp["lnf_b"], 1e-5)
        return f @ tp["w_out"] + tp["b_out"]

    opt = torch.optim.Adam(tp.values(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8)

    def tokens(X, y):
        B, M, d = X.shape
        tok = np.zeros((B, 2 * M - 1, d + 1), dtype=np.float32)
        tok[:, 0::2, :d] = X
        tok[:, 1::2, d] = y[:, : M - 1]
        return torch.from_numpy(tok)

    def step(X, y):
        opt.zero_grad(set_to_none=True)
        loss = ((forward(tokens(X, y)) - torch.from_numpy(y.astype(np.float32))) ** 2).mean()
        loss.backward()
        opt.step()
        return float(loss.detach())

    def predict(X, y):
        with torch.no_grad():
            return forward(tokens(X, y)).numpy()

    return torch, step, predict


# ----------------------------------------------------------------------------------------------- main


def run_case(name: str, case: dict, args, A, C) -> dict:
    cfg = TransformerConfig(**case["model"], max_examples=case["N"] + 1)
    B, N = case["batch"], case["N"]
    steps = args.steps or case["steps"]
    blocks = args.blocks or case["blocks"]
    params = init_params(cfg, np.random.default_rng(0))
    state = AdamState.zeros_like(params)
    dist = PromptDistribution(cfg.d)
    rng = np.random.default_rng(1)
    flops = step_flops(B, N, cfg.d, cfg.width, cfg.layers)
    tm = None if args.no_torch else torch_model(params, cfg.heads)
    row = {
        "model": case["model"],
        "N": N,
        "batch": B,
        "tokens": 2 * N - 1,
        "parameters": n_params(params),
        "step_gflop": flops / 1e9,
    }
    if tm is not None:
        torch, torch_step, torch_predict = tm
        torch.set_num_threads(args.threads)
        pr = dist.sample(rng, 8, N)
        diff = np.max(np.abs(torch_predict(pr.X, pr.y) - predict_prefixes(params, pr.X, pr.y)))
        row["torch_version"] = torch.__version__
        row["torch_forward_max_abs_diff"] = float(diff)
    t_np, t_torch, t_data, peaks, fractions, ratios = [], [], [], [], [], []
    for block in range(blocks + 1):  # block 0 warms up
        peak = matmul_gflops(A, C)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            pr = dist.sample(rng, B, N)
            t1 = time.perf_counter()
            _, g = loss_and_grads(params, pr.X, pr.y)
            adam_update(params, g, state, 1e-4)
            times.append(time.perf_counter() - t1)
            t_data.append(t1 - t0)
        ttimes = []
        if tm is not None:
            for _ in range(steps):
                pr = dist.sample(rng, B, N)
                t1 = time.perf_counter()
                torch_step(pr.X, pr.y)
                ttimes.append(time.perf_counter() - t1)
        if block:
            t_np += times
            t_torch += ttimes
            peaks.append(peak)
            fractions.append(flops / statistics.median(times) / 1e9 / peak)
            if ttimes:
                ratios.append(statistics.median(times) / statistics.median(ttimes))
        print(f"  {name} block {block}: numpy {statistics.median(times) * 1e3:.1f} ms", end="")
        print(f", torch {statistics.median(ttimes) * 1e3:.1f} ms" if ttimes else "", f", peak {peak:.0f}")
    t = statistics.median(t_np)
    row.update(
        ms_per_step=t * 1e3,
        ms_data_per_batch=statistics.median(t_data) * 1e3,
        gflops=flops / t / 1e9,
        matmul_2048_float32_gflops=statistics.median(peaks),
        fraction_of_matmul_peak=statistics.median(fractions),
        steps_timed=len(t_np),
    )
    if t_torch:
        row.update(
            torch_ms_per_step=statistics.median(t_torch) * 1e3, numpy_over_torch=statistics.median(ratios)
        )
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(CASES), help="run one case")
    ap.add_argument("--blocks", type=int, default=0, help="timed blocks per case (default per case)")
    ap.add_argument("--steps", type=int, default=0, help="steps per block (default per case)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument(
        "--glibc-defaults",
        action="store_true",
        help="leave glibc's malloc thresholds alone (simulations/memory.py)",
    )
    ap.add_argument("--out", default="results/benchmarks/transformer_step.json")
    args = ap.parse_args()
    tuned = False if args.glibc_defaults else keep_freed_memory()
    A = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    C = np.empty_like(A)
    rows = {"threads": args.threads, "malloc_thresholds_raised": tuned, "cpu_count": os.cpu_count()}
    with blas_threads(args.threads):
        for name, case in CASES.items():
            if args.only and name != args.only:
                continue
            rows[name] = run_case(name, case, args, A, C)
    print(f"\nthreads {args.threads}, malloc thresholds raised: {tuned}")
    head = f"{'case':6} {'params':>9} {'GFLOP':>7} {'ms/step':>9} {'GFLOP/s':>8} {'peak':>6} {'frac':>6}"
    print(head + f" {'torch ms':>9} {'np/torch':>8}")
    for name in CASES:
        if name not in rows:
            continue
        r = rows[name]
        torch_ms = (
            f"{r['torch_ms_per_step']:9.1f} {r['numpy_over_torch']:8.2f}" if "torch_ms_per_step" in r else ""
        )
        print(
            f"{name:6} {r['parameters']:9d} {r['step_gflop']:7.2f} {r['ms_per_step']:9.1f} "
            f"{r['gflops']:8.1f} {r['matmul_2048_float32_gflops']:6.0f} {r['fraction_of_matmul_peak']:6.0%} "
            f"{torch_ms}"
        )
        if "torch_forward_max_abs_diff" in r:
            print(
                f"       torch {r['torch_version']} forward = numpy forward to "
                f"{r['torch_forward_max_abs_diff']:.1e} (max abs, 8 prompts)"
            )
    print(f"written {write_json(args.out, rows)}")


if __name__ == "__main__":
    main()
