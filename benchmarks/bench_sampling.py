"""Milliseconds per training batch drawn by the two samplers, against the floor timed in the same process:
numpy drawing the standard normals that batch needs (every other draw, index and copy is overhead).

* classification (``Task.sample``, batch 128): quick size (N = 4, K = 128, D = 31, p_C = 0.5) and paper
  size (N = 8, K = 512, D = 63); the normals are the within-class noise of every item, (N + 1) · D per
  sequence, and the fresh means of novel classes, (N/B) · D for the expected p_B · p_C of the sequences.
* regression prompts (``PromptDistribution.sample``, batch 512, N = 20, d = 5, rotated Λ as in
  linear-attention-flow): (N + 1) · d covariate normals and d task normals per prompt.

The classification batches are float32 and draw their normals by Box–Muller in float32
(``simulations.seeding.standard_normal``); the same count of those normals is timed too, so the reference
stays numpy's own ziggurat (float64, what the sampler drew before) and the table shows both ratios.
Blocks of the sampler and of its references alternate (this machine's speed drifts within a minute); medians.

    python benchmarks/bench_sampling.py [--blocks 10] [--reps 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from simulations.experiments.induction_head.settings import QUICK_DATA
from simulations.induction_head import DataConfig, Task
from simulations.linear_attention import PromptDistribution
from simulations.seeding import standard_normal
from simulations.storage import write_json


def per_call(fn, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def batch_normals(cfg, n: int = 128) -> int:
    """Expected standard normals in a training batch: the noise of every item, (N + 1)·D a sequence, and
    the fresh means of the novel classes, (N/B)·D for a fraction p_B·p_C of the sequences."""
    fresh = cfg.p_B * cfg.p_C * (cfg.N // cfg.B) * cfg.D if cfg.B > 0 else 0
    return int(round(n * ((cfg.N + 1) * cfg.D * (cfg.epsilon > 0) + fresh)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--out", default="results/benchmarks/sampling.json")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((5, 5)))
    prompts = PromptDistribution(5, cov=q @ np.diag([0.5, 0.8, 1.0, 1.5, 2.0]) @ q.T)
    quick, paper = Task(QUICK_DATA), Task(DataConfig())
    f32, f64 = np.float32, np.float64
    cases = {
        "classification, quick size": (lambda: quick.sample(rng, 128), batch_normals(QUICK_DATA), f32),
        "classification, paper size": (lambda: paper.sample(rng, 128), batch_normals(DataConfig()), f32),
        "regression prompts, batch 512": (lambda: prompts.sample(rng, 512, 20), 512 * (21 * 5 + 5), f64),
    }
    rows = {}
    for name, (sample, normals, dtype) in cases.items():
        sample()
        t_s, t_n, t_own = [], [], []
        for _ in range(args.blocks):
            t_s.append(per_call(sample, args.reps))
            t_n.append(per_call(lambda n=normals: rng.standard_normal(n), args.reps))
            t_own.append(per_call(lambda n=normals, dt=dtype: standard_normal(rng, n, dt), args.reps))
        s, n, own = statistics.median(t_s), statistics.median(t_n), statistics.median(t_own)
        rows[name] = {"sample_ms": s * 1e3, "normals_ms": n * 1e3, "ratio": s / n, "own_ms": own * 1e3}
        print(
            f"{name}: {s * 1e3:.3f} ms a batch; its {normals} normals by numpy's ziggurat {n * 1e3:.3f} ms → "
            f"{s / n:.2f}×; the same normals as the sampler draws them ({np.dtype(dtype).name}) "
            f"{own * 1e3:.3f} ms ({own / n:.2f}× the ziggurat)"
        )
    print(f"written {write_json(args.out, rows)}")


if __name__ == "__main__":
    main()
