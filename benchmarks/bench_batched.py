"""Runs per second of batched training (R runs on stacked weights) against R single runs one after another.

Models: the classification network and the minimal induction-head model (docs/induction_head.md §2, §5)
at the quick size (K = 128, L = 8, N = 4, D = 31, P = 33) and the paper size (K = 512, L = 32, N = 8,
D = 63, P = 65), batch 128, float32; the LSA network (docs/linear_attention.md §1) at d = 5 and d = 20,
N = 20, batch 512. One process, one BLAS thread (both trainers run under ``blas_threads(1)``).

Three measurements:
* trainer, for every R in ``--runs``: ``train_batched`` on R configs (seeds 0 … R−1, default chunk)
  against ``train`` called R times, ``--steps`` steps each, evaluation only at the first and last step
  (smallest test sets), so the time is the SGD loop: a fresh batch per run per step, the step, the update.
  runs/s = R × steps / wall time.
* step only: the batched trainer's step (``_sgd_step``: stacking, ``loss_and_grads``, update, finiteness
  checks) on pre-drawn batches, with the default chunk and with the whole stack in one call (chunk = R),
  against R single steps. This is what stacking changes; the per-run batch sampling (column "sample ms",
  the same in both trainers) is not in it.
* chunk sweep (R = 16): step-only time per run for chunk = 1, 2, 4, 8, 16, the basis of the defaults.
Batched and single measurements alternate; each figure is the median over ``--repeats`` of CPU time of
this process (``time.process_time``: on a shared machine, wall time also counts other jobs; the two
agree on an idle one). Compare ratios measured in one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from simulations.induction_head import DataConfig, Task
from simulations.induction_head import TrainConfig as ICLConfig
from simulations.induction_head import batched as icl_batched
from simulations.induction_head import train as icl_train
from simulations.induction_head.training import get_model, sgd_update
from simulations.linear_attention import PromptDistribution, embed, loss_and_grads, paper_init
from simulations.linear_attention import TrainConfig as LSAConfig
from simulations.linear_attention import batched as lsa_batched
from simulations.linear_attention import train as lsa_train
from simulations.memory import keep_freed_memory
from simulations.seeding import batch_rng
from simulations.storage import write_json
from simulations.threads import blas_threads

ICL_SIZES = {
    "quick": DataConfig(K=128, L=8, N=4, D=31, P=33),
    "paper": DataConfig(K=512, L=32, N=8, D=63, P=65),
}
LSA_SIZES = {"d=5": 5, "d=20": 20}
SWEEP = (1, 2, 4, 8, 16)


def timed(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def alternate(fns: dict, repeats: int) -> dict:
    """Median CPU time of each callable, called in rotating order ``repeats`` times."""
    times = {k: [] for k in fns}
    keys = list(fns)
    for rep in range(repeats):
        for k in keys[rep % len(keys) :] + keys[: rep % len(keys)]:
            times[k].append(timed(fns[k]))
    return {k: statistics.median(v) for k, v in times.items()}


# ---------------------------------------------------------------- classification network, minimal model
def icl_trainer(data, model, R, steps, repeats):
    cfgs = [ICLConfig(steps=steps, batch=128, eval_every=steps + 1, eval_size=10, seed=r) for r in range(R)]
    return alternate(
        {
            "batched": lambda: icl_batched.train_batched([data] * R, cfgs, model),
            "single": lambda: [icl_train(data, c, model) for c in cfgs],
        },
        repeats,
    )


def icl_steps(data, model, R, steps, repeats, chunks):
    """CPU time of ``steps`` steps of R runs: single steps, and the batched step for each chunk."""
    mdl = get_model(model, data.P)
    task = Task(data)
    runs = [mdl.init_params(data, np.random.default_rng(r)) for r in range(R)]
    batches = [[task.sample(batch_rng(r, k), 128) for r in range(R)] for k in range(4)]
    stacked = icl_batched.stack_params(runs)
    lr, wd = np.full(R, 0.01), np.full(R, 1e-6)
    who = [str(r) for r in range(R)]

    def batched(chunk):
        def go():
            for k in range(steps):
                icl_batched._sgd_step(mdl, stacked, batches[k % 4], lr, wd, chunk, who, k)

        return go

    def single():
        for k in range(steps):
            for r, p in enumerate(runs):
                b = batches[k % 4][r]
                _, g = mdl.loss_and_grads(p, b.tokens, b.labels)
                sgd_update(p, g, 0.01, 1e-6)
                [np.all(np.isfinite(v)) for v in p.values()]  # the single trainer's check

    fns = {"single": single} | {c: batched(c) for c in chunks}
    return alternate(fns, repeats)


def icl_sampling(data, steps):
    """CPU seconds per run-step spent drawing the training batch (the same in both trainers)."""
    task = Task(data)
    return timed(lambda: [task.sample(batch_rng(0, k), 128) for k in range(steps)]) / steps


# ---------------------------------------------------------------- LSA network
def lsa_trainer(d, R, steps, repeats):
    dist = PromptDistribution(d)
    cfgs = [
        LSAConfig(N=20, lr=0.01, steps=steps, batch=512, seed=r, record_every=steps + 1) for r in range(R)
    ]
    return alternate(
        {
            "batched": lambda: lsa_batched.train_batched([dist] * R, cfgs),
            "single": lambda: [lsa_train(dist, c) for c in cfgs],
        },
        repeats,
    )


def lsa_steps(d, R, steps, repeats, chunks, batch=512):
    dist = PromptDistribution(d)
    runs = [paper_init(d, d**-0.5) for _ in range(R)]
    prompts = [[dist.sample(batch_rng(r, k), batch, 20) for r in range(R)] for k in range(4)]
    stacked = {k: np.stack([p[k] for p in runs]) for k in ("W_PV", "W_KQ")}
    lr = np.full((R, 1, 1), 0.01)
    who = [str(r) for r in range(R)]

    def batched(chunk):
        def go():
            for k in range(steps):
                lsa_batched._sgd_step(stacked, prompts[k % 4], lr, chunk, who, k)

        return go

    def single():
        for k in range(steps):
            for r, p in enumerate(runs):
                pr = prompts[k % 4][r]
                _, g = loss_and_grads(p, embed(pr.X, pr.y, pr.x_query), pr.y_query)
                for name in p:
                    p[name] -= 0.01 * g[name]
                    np.all(np.isfinite(p[name]))

    fns = {"single": single} | {c: batched(c) for c in chunks}
    return alternate(fns, repeats)


def lsa_sampling(d, steps):
    dist = PromptDistribution(d)
    return timed(lambda: [dist.sample(batch_rng(0, k), 512, 20) for k in range(steps)]) / steps


# ---------------------------------------------------------------- driver
def measure(model, size, Rs, steps, repeats, trainer, step_fn, sampling, chunk):
    rows = []
    for R in Rs:
        tr = trainer(R)
        chunks = sorted({min(chunk, R), R})
        st = step_fn(R, chunks)
        row = {
            "model": model,
            "size": size,
            "R": R,
            "steps": steps,
            "default_chunk": min(chunk, R),
            "batched_runs_per_s": R * steps / tr["batched"],
            "single_runs_per_s": R * steps / tr["single"],
            "ratio": tr["single"] / tr["batched"],
            "step_only_single_runs_per_s": R * steps / st["single"],
            "step_only_batched_runs_per_s": R * steps / st[min(chunk, R)],
            "step_only_ratio": st["single"] / st[min(chunk, R)],
            "step_only_whole_stack_ratio": st["single"] / st[R],
            "sampling_ms_per_run_step": sampling * 1e3,
        }
        rows.append(row)
        print(
            f"{model:8s} {size:6s} {R:3d} {row['batched_runs_per_s']:9.1f} {row['single_runs_per_s']:9.1f} "
            f"{row['ratio']:6.2f} | {row['default_chunk']:5d} {row['step_only_batched_runs_per_s']:9.1f} "
            f"{row['step_only_single_runs_per_s']:9.1f} {row['step_only_ratio']:6.2f} "
            f"{row['step_only_whole_stack_ratio']:7.2f} | {row['sampling_ms_per_run_step']:6.2f}",
            flush=True,
        )
    return rows


def sweep(model, size, steps, repeats, step_fn):
    R = max(SWEEP)
    st = step_fn(R, list(SWEEP))
    row = {"model": model, "size": size, "R": R, "single_ms_per_run_step": st["single"] / (R * steps) * 1e3}
    row |= {f"chunk_{c}_ms_per_run_step": st[c] / (R * steps) * 1e3 for c in SWEEP}
    print(
        f"{model:8s} {size:6s} single {row['single_ms_per_run_step']:6.3f} ms | "
        + "  ".join(f"{c}: {st[c] / (R * steps) * 1e3:6.3f} ({st['single'] / st[c]:4.2f}x)" for c in SWEEP),
        flush=True,
    )
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="1,2,4,8,16", help="values of R")
    ap.add_argument("--steps", type=int, default=40, help="SGD steps per measurement (paper size: half)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="network,minimal,lsa", help="models to measure")
    ap.add_argument("--no-sweep", action="store_true", help="skip the chunk sweep")
    ap.add_argument("--out", default="results/benchmarks/batched.json")
    args = ap.parse_args()
    keep_freed_memory()
    Rs = [int(x) for x in args.runs.split(",")]
    only = args.only.split(",")
    cases = []  # (model, size, steps, trainer(R), step_fn(R, chunks), sampling, default chunk)
    for model in ("network", "minimal"):
        if model in only:
            for size, data in ICL_SIZES.items():
                steps = args.steps if size == "quick" else max(args.steps // 2, 5)
                with blas_threads(1):
                    sampling = icl_sampling(data, steps)
                cases.append(
                    (
                        model,
                        size,
                        steps,
                        lambda R, data=data, model=model, steps=steps: icl_trainer(
                            data, model, R, steps, args.repeats
                        ),
                        lambda R, chunks, data=data, model=model, steps=steps: icl_steps(
                            data, model, R, steps, args.repeats, chunks
                        ),
                        sampling,
                        icl_batched.default_chunk(data, 128, "float32", model),
                    )
                )
    if "lsa" in only:
        for size, d in LSA_SIZES.items():
            with blas_threads(1):
                sampling = lsa_sampling(d, args.steps)
            cases.append(
                (
                    "lsa",
                    size,
                    args.steps,
                    lambda R, d=d: lsa_trainer(d, R, args.steps, args.repeats),
                    lambda R, chunks, d=d: lsa_steps(d, R, args.steps, args.repeats, chunks),
                    sampling,
                    lsa_batched.default_chunk(d, 20, 512),
                )
            )
    print("runs/s = R x steps / CPU time, one BLAS thread, medians; ratio = batched runs/s / single runs/s")
    print(
        f"{'model':8s} {'size':6s} {'R':>3s} {'batched':>9s} {'single':>9s} {'ratio':>6s} | {'chunk':>5s} "
        f"{'step:bat':>9s} {'step:sgl':>9s} {'ratio':>6s} {'chunk=R':>7s} | {'sample':>6s}"
    )
    rows = []
    for model, size, steps, trainer, step_fn, sampling, chunk in cases:
        with blas_threads(1):  # the step-only loops (the trainers set it themselves)
            rows += measure(model, size, Rs, steps, args.repeats, trainer, step_fn, sampling, chunk)
    sweeps = []
    if not args.no_sweep:
        print(f"chunk sweep at R = {max(SWEEP)}: step-only ms per run-step (speed-up over single steps)")
        for model, size, steps, _, step_fn, _, _ in cases:
            with blas_threads(1):
                sweeps.append(sweep(model, size, steps, args.repeats, step_fn))
        if "lsa" in only:  # where stacking pays for the LSA network: small prompts
            with blas_threads(1):
                sweeps.append(
                    sweep(
                        "lsa",
                        "d=5,B=64",
                        args.steps,
                        args.repeats,
                        lambda R, chunks: lsa_steps(5, R, args.steps, args.repeats, chunks, batch=64),
                    )
                )
    print(f"written {write_json(args.out, {'args': vars(args), 'rows': rows, 'chunk_sweep': sweeps})}")


if __name__ == "__main__":
    main()
