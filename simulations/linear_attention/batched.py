r"""Train R LSA networks of the same size in one numpy step on stacked weights.

``W_PV`` and ``W_KQ`` of the R runs are stacked to (R, d+1, d+1), their prompts to (R, B, d+1, M+1), and
:func:`~simulations.linear_attention.network.loss_and_grads` computes every run's loss and gradients in
one call (docs/linear_attention.md §1). Run r is exactly the single run of
:func:`~simulations.linear_attention.training.train` with its own prompt law, config and initialisation
(docs/linear_attention.md §7): batch at step k ``dist.sample(batch_rng(seed, k), batch, N)``, its own
learning rate, evaluation set, records, Polyak average and averaging-window check, equal to the single
run's to float rounding (measured: identical).

A step goes through the stack in chunks of runs (:func:`default_chunk`). The LSA step is a few
memory-bound einsums, so stacking saves little: it pays for small prompts and not at batch 512, where the
default is one run per call (the single run's own code) and each run's prompt sampling dominates anyway.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..config import require_shared
from ..seeding import batch_rng
from ..threads import blas_threads
from .network import embed, loss_and_grads, paper_init
from .prompts import PromptDistribution
from .training import Recorder, TrainConfig, TrainResult, averaging_start, checked_step

SHARED_TRAIN = ("N", "batch", "blas_threads")
"""TrainConfig fields every run of a batch must share (with the prompt dimension d)."""
CHUNK_BYTES = 3 << 18
"""Default working set of one stacked call: a chunk of runs whose embedded prompts (B, d+1, N+1) take
about this many bytes together (768 KiB). The LSA step is a few memory-bound einsums with little Python
overhead, so stacking pays only for small prompts (d = 5, N = 20: 1.6-2x at batch 64-128) and loses at
batch 512, where one run's prompts take 0.5-1.8 MB: the default there is one run per call
(``benchmarks/bench_batched.py`` measures every chunk size)."""


def default_chunk(d: int, N: int, batch: int) -> int:
    """Runs per stacked call: :data:`CHUNK_BYTES` over one run's float64 (B, d+1, N+1) prompts, at least 1."""
    return max(1, CHUNK_BYTES // (batch * (d + 1) * (N + 1) * 8))


def train_batched(
    dists: list[PromptDistribution],
    configs: list[TrainConfig],
    inits: list[dict | None] | None = None,
    *,
    progress: bool = False,
    chunk: int | None = None,
) -> list[TrainResult]:
    """Train R LSA networks in one stacked SGD step each; return what R calls of ``train`` would return.

    Run r is ``train(dists[r], configs[r], inits[r])`` (docs/linear_attention.md §7), equal to float
    rounding. Runs may differ in the prompt law (but not in d) and in the config (seed, lr, steps,
    record_every, window_records, eval_size, average_last, drift_tol) except :data:`SHARED_TRAIN`; a run
    that reaches its ``steps`` leaves the stack. Nothing is checkpointed (neither is a single LSA run).

    Parameters
    ----------
    dists : list of R PromptDistribution
        Training prompt laws, all of the same dimension d.
    configs : list of R linear_attention.TrainConfig
    inits : list of R dicts (or None entries), optional
        Initial ``W_PV``, ``W_KQ`` of shape (d+1, d+1), copied; default (and for None entries) the paper's
        initialisation with σ = 1/√d (:func:`~simulations.linear_attention.network.paper_init`).
    progress : bool
        Show a progress bar over the steps of the longest run.
    chunk : int, optional
        Runs per stacked ``loss_and_grads`` call (R: one call); default :func:`default_chunk`, which keeps
        a call's arrays in cache. The numbers do not depend on it.

    Returns
    -------
    list of R TrainResult, in the order of the inputs. A run whose averaging window drifted issues an
    :class:`~simulations.linear_attention.training.AveragingWindowWarning` naming the run.

    Raises
    ------
    ValueError
        Unequal list lengths, a wrong type, a malformed init, or runs that differ in d or in a field of
        :data:`SHARED_TRAIN` (the message names it).
    FloatingPointError
        When a run's loss or weight becomes non-finite (names the run, the step and the parameter).
    """
    dists, configs = list(dists), list(configs)
    if len(dists) != len(configs) or not dists:
        raise ValueError(
            f"dists and configs must be non-empty lists of equal length, got {len(dists)} and {len(configs)}"
        )
    inits = [None] * len(dists) if inits is None else list(inits)
    if len(inits) != len(dists):
        raise ValueError(f"inits must hold one entry per run ({len(dists)}), got {len(inits)}")
    for j, (dist, cfg) in enumerate(zip(dists, configs, strict=True)):
        if not isinstance(dist, PromptDistribution):
            raise ValueError(f"dists[{j}] must be a PromptDistribution, got {type(dist).__name__}")
        if not isinstance(cfg, TrainConfig):
            raise ValueError(f"configs[{j}] must be a linear_attention.TrainConfig, got {type(cfg).__name__}")
    require_shared(dists, ("d",), "dist")
    require_shared(configs, SHARED_TRAIN, "config")
    d = dists[0].d
    if chunk is None:
        chunk = default_chunk(d, configs[0].N, configs[0].batch)
    if not (isinstance(chunk, int) and not isinstance(chunk, bool) and chunk >= 1):
        raise ValueError(f"chunk must be an integer >= 1 (or None), got {chunk!r}")
    shape = (d + 1, d + 1)
    start = []
    for j, init in enumerate(inits):
        init = paper_init(d, d**-0.5) if init is None else init
        if set(init) != {"W_PV", "W_KQ"} or any(np.shape(v) != shape for v in init.values()):
            raise ValueError(f"inits[{j}] must hold W_PV and W_KQ of shape {shape}")
        p = {k: np.array(init[k], dtype=np.float64, copy=True) for k in ("W_PV", "W_KQ")}
        if not all(np.all(np.isfinite(v)) for v in p.values()):
            raise ValueError(f"inits[{j}] must be finite")
        start.append(p)
    with blas_threads(configs[0].blas_threads):
        return _train_batched(start, dists, configs, progress, chunk)


def _sgd_step(p, prompts, lr, chunk, who, step) -> None:
    """One SGD step of every run in the stack (p ← p − lr ∇p), in slices of ``chunk`` runs.

    A slice of one run takes the single run's own code path on views of the stack.
    """
    R = len(prompts)
    for i0 in range(0, R, chunk):
        sl = slice(i0, min(i0 + chunk, R))
        part = prompts[sl]
        if len(part) == 1:  # the single trainer's step and checks, on views of the stack
            checked_step({k: v[i0] for k, v in p.items()}, part[0], lr[i0, 0, 0], who[i0], step)
            continue
        pv, y = {k: v[sl] for k, v in p.items()}, np.stack([pr.y_query for pr in part])
        E = embed(
            np.concatenate([pr.X for pr in part]),
            np.concatenate([pr.y for pr in part]),
            np.concatenate([pr.x_query for pr in part]),
        )
        losses, grads = loss_and_grads(pv, E.reshape(len(part), -1, *E.shape[1:]), y)
        if not np.all(np.isfinite(losses)):
            i = int(np.argmin(np.isfinite(losses)))
            raise FloatingPointError(
                f"{who[i0 + i]} diverged at step {step}: loss = {losses[i]} "
                f"(lr = {lr[i0 + i, 0, 0]} may be too large)"
            )
        for k in p:
            pv[k] -= lr[sl] * grads[k]
        for k in p:  # the single run checks W_PV, then W_KQ
            finite = np.isfinite(pv[k]).reshape(len(part), -1).all(axis=1)
            if not finite.all():
                i = i0 + int(np.argmin(finite))
                raise FloatingPointError(f"{who[i]} diverged at step {step}: parameter {k} is non-finite")


def _train_batched(start, dists, configs, progress, chunk):
    runs = [Recorder.for_run(dist, cfg) for dist, cfg in zip(dists, configs, strict=True)]
    p = {k: np.stack([s[k] for s in start]) for k in ("W_PV", "W_KQ")}
    p_sum = {k: np.zeros_like(v) for k, v in p.items()}
    results: list[TrainResult | None] = [None] * len(runs)
    active = list(range(len(runs)))
    batch, N = configs[0].batch, configs[0].N
    lr = None
    bar = tqdm(
        total=max(c.steps for c in configs), disable=not progress, desc=f"LSA SGD x{len(runs)}", leave=False
    )
    step = 0
    while True:
        done = []
        for i, j in enumerate(active):
            run = runs[j]
            if configs[j].records_at(step):
                run.record({k: v[i] for k, v in p.items()}, step)
            if step == configs[j].steps:
                done.append(i)
                final = {k: np.array(v[i]) for k, v in p.items()}
                results[j] = run.result(final, {k: v[i] for k, v in p_sum.items()}, label=f"run {j}: ")
        if done:
            keep = [i for i in range(len(active)) if i not in done]
            p = {k: v[keep] for k, v in p.items()}
            p_sum = {k: v[keep] for k, v in p_sum.items()}
            active = [active[i] for i in keep]
            lr = None
        if not active:
            break
        if lr is None:
            lr = np.array([configs[j].lr for j in active])[:, None, None]
            averaging = np.array([averaging_start(configs[j]) for j in active])
            who = [f"LSA run {j}" for j in active]
        prompts = [dists[j].sample(batch_rng(configs[j].seed, step), batch, N) for j in active]
        _sgd_step(p, prompts, lr, chunk, who, step)
        inside = step + 1 > averaging  # the average is over the iterates after steps start_avg + 1 … steps
        if inside.all():
            for k in p:
                p_sum[k] += p[k]
        elif inside.any():
            for k in p:
                p_sum[k][inside] += p[k][inside]
        step += 1
        bar.update(1)
    bar.close()
    return results
