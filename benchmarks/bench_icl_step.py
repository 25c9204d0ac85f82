"""Milliseconds per SGD step of the classification network at the paper's size, against references timed in
the same process: the FLOP floor at numpy's float32 GEMM rate, and (when torch is installed) a PyTorch CPU
step of the same network that applies the MLP to the target only.

Paper size: batch 128, N = 8 (T = 17 tokens), P + D = 128, L = 32, MLP width 128, float32, one BLAS thread
(the trainers' default). FLOPs are counted analytically for the matrix products of one ``loss_and_grads``
call (2 per multiply-add; elementwise work is not counted).

The numpy and torch steps run on the same fixed batch in interleaved blocks (one block of each, repeated), so
their ratio is measured at the same moment (this machine's speed drifts by ±20% within a minute). Before each
block pair a 2048² float32 matmul measures the GEMM rate. ``--profile`` adds a line-by-line profile of the
numpy step (needs line_profiler), summed into operations.

    python benchmarks/bench_icl_step.py [--blocks 10] [--steps 20] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from simulations.induction_head import DataConfig, Task, sgd_update
from simulations.induction_head import network as net
from simulations.memory import keep_freed_memory
from simulations.storage import write_json


def step_flops(B: int, T: int, W: int, H: int, L: int) -> int:
    """Matrix-product FLOPs of forward + backward (the algebra is in the docstring of network.py)."""
    fwd = (
        2 * W**3
        + 2 * B * T * W * W
        + 2 * B * T * T * W  # M₁ = Q₁ᵀK₁, the projection u M₁, layer-1 scores
        + 2 * B * T * W
        + 2 * B * W * W  # target's layer-1 output Σ_j p1_Tj u_j, then V₁
        + 3 * 2 * B * W * W
        + 2 * 2 * B * T * W
        + 2 * B * T * T  # q2, kt, V₁ᵀkt; u·kt, u·V₁ᵀkt, p1(·)
        + 2 * B * T * T
        + 2 * 2 * B * T * W
        + 2 * 2 * B * W * W  # w2, Σ p2 u, Σ w2 u, V₁(·), V₂ c
        + 2 * B * (W * H + 2 * H * H + H * L)
    )  # MLP and read-out
    bwd = (
        2 * B * (2 * H * L + 2 * (W * H + 2 * H * H))  # read-out and MLP: weight and input gradients
        + 3 * 2 * B * W * W
        + 2 * 2 * B * T * W
        + 2 * 2 * B * T * T  # dV₂, dc, V₁ᵀdc; dcv, u·dc; dp2
        + 2 * 2 * B * T * W
        + 5 * 2 * B * W * W  # Σ ds2 u, Σ (ds2 p1) u; V₁(·), dK₂, dq2, dQ₂, r
        + 3 * 2 * B * W * W
        + 2 * B * W * W
        + 2 * B * T * W  # dV₁; u·V₁ᵀr
        + 2 * B * T * T * W
        + 2 * B * T * W * W
        + 2 * 2 * W**3
    )  # ds1 u, dM₁, dQ₁, dK₁
    return int(fwd + bwd)


def torch_step_factory(params: dict, tokens: np.ndarray, labels: np.ndarray, lr: float, lean: bool = False):
    """One SGD step of the same network in PyTorch (autograd), the MLP on the target token only; with
    ``lean`` layer 2 is computed for the target's row only too (the same shortcut as the numpy step)."""
    import torch

    torch.set_num_threads(1)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x = torch.tensor(tokens)
    y = torch.tensor(labels)
    T = x.shape[1]
    mask = torch.full((T, T), float("-inf")).triu(1)

    def attn(u, layer):
        q = u @ P[f"attn{layer}.Q"].T
        k = u @ P[f"attn{layer}.K"].T
        v = u @ P[f"attn{layer}.V"].T
        p = torch.softmax(q @ k.transpose(1, 2) + mask, dim=-1)
        return u + p @ v

    def target_attn(u, layer):
        q = u[:, -1] @ P[f"attn{layer}.Q"].T
        k = u @ P[f"attn{layer}.K"].T
        v = u @ P[f"attn{layer}.V"].T
        p = torch.softmax((k @ q[:, :, None])[:, :, 0], dim=-1)
        return u[:, -1] + (p[:, None, :] @ v)[:, 0]

    def step():
        h = target_attn(attn(x, 1), 2) if lean else attn(attn(x, 1), 2)[:, -1]
        for i in (1, 2, 3):
            h = torch.relu(h @ P[f"mlp.W{i}"].T + P[f"mlp.b{i}"])
        loss = torch.nn.functional.cross_entropy(h @ P["readout.W"].T, y)
        grads = torch.autograd.grad(loss, list(P.values()))
        with torch.no_grad():
            for p, g in zip(P.values(), grads, strict=True):
                p.mul_(1 - 1e-6).sub_(lr * g)
        return loss.item()

    return step


def profile_numpy_step(params, tokens, labels, repeats: int = 50) -> dict:
    """Seconds per step spent on each line of network._forward and network.loss_and_grads (line_profiler),
    for the lines that take ≥ 2% of the step."""
    from line_profiler import LineProfiler

    lp = LineProfiler(net._forward, net.loss_and_grads, net.classifier_backward, net.classifier_forward)
    wrapped = lp(net.loss_and_grads)
    for _ in range(repeats):
        wrapped(params, tokens, labels)
    stats = lp.get_stats()
    rows = []
    for (fname, _, func), lines in stats.timings.items():
        src = Path(fname).read_text().splitlines()
        for lineno, _, t in lines:
            rows.append((t * stats.unit / repeats, f"{func}:{lineno}: {src[lineno - 1].strip()[:70]}"))
    total = sum(t for t, _ in rows if not _.startswith("loss_and_grads") or "_forward(" not in _)
    rows.sort(reverse=True)
    return {
        "total_ms": total * 1e3,
        "lines": [(round(t * 1e3, 3), name) for t, name in rows if t > 0.02 * total],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=10, help="interleaved block pairs (numpy, torch)")
    ap.add_argument("--steps", type=int, default=20, help="steps per block")
    ap.add_argument("--profile", action="store_true", help="line-by-line profile of the numpy step")
    ap.add_argument("--out", default="results/benchmarks/icl_step.json")
    args = ap.parse_args()
    if args.profile:
        try:
            import line_profiler  # noqa: F401
        except ImportError:
            ap.error("--profile needs line_profiler (pip install line_profiler)")
    keep_freed_memory()
    cfg = DataConfig()
    B = 128
    rng = np.random.default_rng(0)
    batch = Task(cfg).sample(rng, B, dtype=np.float32)
    params = net.init_params(cfg, rng, dtype=np.float32)
    flops = step_flops(B, cfg.T, cfg.width, cfg.width, cfg.L)
    A = rng.standard_normal((2048, 2048)).astype(np.float32)
    C = np.empty_like(A)
    try:
        torch_steps = {
            "torch": torch_step_factory(params, batch.tokens, batch.labels, 0.01),
            "torch_lean": torch_step_factory(params, batch.tokens, batch.labels, 0.01, lean=True),
        }
    except ImportError:
        torch_steps = {}
    rows = {"step_mflop": flops / 1e6, "torch_installed": bool(torch_steps)}
    times = {"numpy": [], "torch": [], "torch_lean": []}
    peaks, ratios = [], {"torch": [], "torch_lean": []}
    with threadpool_limits(1):
        for block in range(args.blocks + 1):  # block 0 warms up
            t0 = time.perf_counter()
            np.matmul(A, A, out=C)
            peak = 2 * 2048**3 / (time.perf_counter() - t0) / 1e9
            this = {}
            for name in ("numpy", *torch_steps):
                ts = []
                for _ in range(args.steps):
                    t1 = time.perf_counter()
                    if name == "numpy":
                        _, g = net.loss_and_grads(params, batch.tokens, batch.labels)
                        sgd_update(params, g, 0.01, 1e-6)
                    else:
                        torch_steps[name]()
                    ts.append(time.perf_counter() - t1)
                this[name] = statistics.median(ts)
            if block:
                peaks.append(peak)
                for name, t in this.items():
                    times[name].append(t)
                    if name != "numpy":
                        ratios[name].append(t / this["numpy"])
        profile = profile_numpy_step(params, batch.tokens, batch.labels) if args.profile else None
    t_np = statistics.median(times["numpy"])
    peak = statistics.median(peaks)
    floor = flops / (peak * 1e9)
    rows.update(
        {
            "numpy_ms": t_np * 1e3,
            "numpy_ms_range": [min(times["numpy"]) * 1e3, max(times["numpy"]) * 1e3],
            "gemm_gflops": peak,
            "flop_floor_ms": floor * 1e3,
            "numpy_over_floor": t_np / floor,
        }
    )
    print(
        f"one step = {flops / 1e6:.0f} MFLOP in products; float32 2048² GEMM {peak:.0f} GFLOP/s (median of "
        f"{len(peaks)}) → FLOP floor {floor * 1e3:.2f} ms"
    )
    print(
        f"numpy step: {t_np * 1e3:.2f} ms (blocks {rows['numpy_ms_range'][0]:.2f}–"
        f"{rows['numpy_ms_range'][1]:.2f}) = {t_np / floor:.2f}× the floor"
    )
    labels = {
        "torch": "torch step, MLP on the target only",
        "torch_lean": "torch step, layer 2 and MLP on the target only",
    }
    for name in torch_steps:
        r = ratios[name]
        rows[name] = {
            "ms": statistics.median(times[name]) * 1e3,
            "over_numpy": statistics.median(r),
            "over_numpy_range": [min(r), max(r)],
        }
        print(
            f"{labels[name]} (same batch, 1 thread): {rows[name]['ms']:.2f} ms; / numpy = "
            f"{rows[name]['over_numpy']:.2f} (blocks {min(r):.2f}–{max(r):.2f})"
        )
    if profile:
        rows["profile"] = profile
        print(f"profile of the numpy step (line_profiler overhead included: {profile['total_ms']:.2f} ms):")
        for t, name in profile["lines"]:
            print(f"  {t:6.3f} ms  {name}")
    print(f"written {write_json(args.out, rows)}")


if __name__ == "__main__":
    main()
