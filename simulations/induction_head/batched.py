r"""Train R classification runs of the same shapes in one numpy step on stacked weights.

The R runs' weights are stacked along a leading run axis (``attn1.Q`` (R, W, W), ``mlp.b1`` (R, H),
``ih.alpha`` (R,)) and their batches along the same axis (tokens (R, B, T, P+D), labels (R, B)). The
network and the minimal model compute on such stacks with the code of a single run (:mod:`.network`,
:mod:`.minimal`: stacked matmuls, reductions over negative axes), so one Python step does the work of R.

Each run is the single run of :func:`~simulations.induction_head.training.train` with its own data and
config: its initialisation ``stream_rng(seed, "init")``, its batch at step k
``Task(data).sample(batch_rng(seed, k), batch, "train", dtype)``, its learning rate and weight decay
(docs/induction_head.md §2), and its evaluation on its own fixed test sets by the single-run
:func:`~simulations.induction_head.training.evaluate` (docs/induction_head.md §3). The numbers agree with
the single run's to float rounding (BLAS may sum a stacked product in another order; measured: identical).

A step goes through the stack in chunks of runs (:func:`default_chunk`), so that one call's arrays stay in
cache: stacking saves Python calls (the minimal model at the quick size: 1.5x) but not arithmetic, and
at the paper size one run already fills the cache (there the default is one run per call, which is the
single run's own code). Each run still draws its own batch, which at the paper size costs as much as its
step. No checkpoints: see :func:`train_batched`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ..config import require_shared
from ..memory import keep_freed_memory
from ..seeding import batch_rng
from ..threads import blas_threads
from .data import DataConfig, Task
from .training import (
    EVAL_SETS,
    MODELS,
    Recorder,
    TrainConfig,
    TrainResult,
    checked_step,
    evaluation_sets,
    get_model,
    initial_params,
)

SHARED_DATA = ("N", "L", "D", "P")
"""DataConfig fields every run of a batch must share: they fix T = 2N + 1 and every weight's shape."""
SHARED_TRAIN = ("batch", "dtype", "blas_threads")
"""TrainConfig fields every run of a batch must share (the stacked batch, its dtype, one thread pool)."""
TEST_SET_CACHE_BYTES = 1 << 30
"""Default budget for keeping every run's fixed test sets in memory (else they are redrawn per evaluation)."""
CHUNK_BYTES = 3 << 19
"""Default working set of one stacked call: a chunk of runs whose (B, T, width) arrays take about this many
bytes together (1.5 MiB, under the 2 MiB L2 cache of a core here). Larger stacks save Python calls but
stream every intermediate through memory; at the paper size one run's token array alone takes 1.1 MB, so
the default there is one run per call (``benchmarks/bench_batched.py`` measures every chunk size)."""


def stack_params(runs: list[dict]) -> dict:
    """Stack R parameter dicts along a new leading run axis: each (…) array becomes (R, …)."""
    return {k: np.stack([p[k] for p in runs]) for k in runs[0]}


def run_params(stacked: dict, j: int) -> dict:
    """Run ``j``'s parameters as views of the stack (0-d arrays for scalars, as in a single run)."""
    return {k: v[j, ...] for k, v in stacked.items()}


def default_chunk(data: DataConfig, batch: int, dtype, model: str) -> int:
    """Runs per stacked call: :data:`CHUNK_BYTES` over one run's (B, T, width) array, at least 1.

    ``width`` is P + D for the network and D for the minimal model (which computes on the content only).
    """
    width = data.width if model == "network" else data.D
    return max(1, CHUNK_BYTES // (batch * data.T * width * np.dtype(dtype).itemsize))


def sgd_update_stacked(params: dict, grads: dict, lr: np.ndarray, weight_decay: np.ndarray) -> None:
    """Each run's SGD step with decoupled weight decay, in place (docs/induction_head.md §2).

    p_r ← (1 − weight_decay_r) p_r − lr_r ∇p_r for every stacked (R, …) parameter; ``lr`` and
    ``weight_decay`` are (R,). The factors are cast to each parameter's dtype as
    :func:`~simulations.induction_head.training.sgd_update` casts its scalars, so every element
    undergoes the same two roundings as in a single run.
    """
    for k, p in params.items():
        shape = (-1,) + (1,) * (p.ndim - 1)
        p *= (1 - np.asarray(weight_decay, dtype=float)).astype(p.dtype).reshape(shape)
        p -= np.asarray(lr, dtype=float).astype(p.dtype).reshape(shape) * grads[k]


@dataclass
class _Run:
    """One run of the batch: its data, config, fixed test sets (None: redrawn per evaluation) and the single
    run's :class:`~simulations.induction_head.training.Recorder`."""

    data: DataConfig
    cfg: TrainConfig
    task: Task
    sets: dict | None
    context_match: np.ndarray
    rec: Recorder

    def record(self, params: dict, step: int, model) -> None:
        sets = self.sets if self.sets is not None else evaluation_sets(self.data, self.cfg)
        self.rec.record(params, step, sets, model)

    def result(self, params: dict) -> TrainResult:
        return self.rec.result({k: np.array(v) for k, v in params.items()}, self.context_match)


def train_batched(
    datas: list[DataConfig],
    configs: list[TrainConfig],
    model: str = "network",
    *,
    progress: bool = False,
    cache_test_sets: bool | None = None,
    chunk: int | None = None,
) -> list[TrainResult]:
    """Train R runs in one stacked SGD step each; return what R calls of ``train`` would return.

    Run r is ``train(datas[r], configs[r], model)`` (docs/induction_head.md §2 for the network, §5 for
    the minimal model): same initialisation, batches, learning rate, weight decay, evaluations
    (docs/induction_head.md §3), history, maps and ``stop_at_ic``, equal to float rounding. A run that
    reaches its ``steps`` or its ``stop_at_ic`` leaves the stack; the others go on.

    Runs may differ in the data (K, B, ε, α, p_B, p_C, data_seed, …) except :data:`SHARED_DATA`, and in
    the config (seed, lr, weight_decay, steps, eval_every, eval_size, stop_at_ic) except
    :data:`SHARED_TRAIN`. No checkpoints are written or resumed (``checkpoint_every`` is ignored):
    batched runs are meant for sweeps of short runs; use ``train`` for a long run that must resume.

    Parameters
    ----------
    datas : list of R DataConfig
    configs : list of R induction_head.TrainConfig
    model : {"network", "minimal"}
        The two-layer attention network or the minimal induction-head model, for every run.
    progress : bool
        Show a progress bar over the steps of the longest run.
    cache_test_sets : bool, optional
        Keep every run's fixed test sets in memory (True) or redraw them, identically, at each evaluation
        (False: less memory, more time). Default: keep them when they take at most
        :data:`TEST_SET_CACHE_BYTES` together (4 sets × eval_size × T × (P+D) numbers per run).
    chunk : int, optional
        Runs per stacked ``loss_and_grads`` call: the (R, …) stack is stepped in slices of this many runs
        (R: one call). Default :func:`default_chunk`, which keeps a call's arrays in cache. The numbers do
        not depend on it.

    Returns
    -------
    list of R TrainResult
        In the order of the inputs; ``resumed_at`` is None.

    Raises
    ------
    ValueError
        Unequal list lengths, a wrong type, a model other than "network" or "minimal", or runs that
        differ in a field of :data:`SHARED_DATA` or :data:`SHARED_TRAIN` (the message names it).
    FloatingPointError
        On a non-finite loss or weight, naming the run, its seed, the step and the parameters.
    """
    datas, configs = list(datas), list(configs)
    if len(datas) != len(configs) or not datas:
        raise ValueError(
            f"datas and configs must be non-empty lists of equal length, got {len(datas)} and {len(configs)}"
        )
    for j, (data, cfg) in enumerate(zip(datas, configs, strict=True)):
        if not isinstance(data, DataConfig):
            raise ValueError(f"datas[{j}] must be a DataConfig, got {type(data).__name__}")
        if not isinstance(cfg, TrainConfig):
            raise ValueError(f"configs[{j}] must be an induction_head.TrainConfig, got {type(cfg).__name__}")
    if not (isinstance(model, str) and model in MODELS):
        raise ValueError(f"model must be one of {', '.join(MODELS)} for batched training, got {model!r}")
    require_shared(datas, SHARED_DATA, "data")
    require_shared(configs, SHARED_TRAIN, "config")
    if chunk is None:
        chunk = default_chunk(datas[0], configs[0].batch, configs[0].dtype, model)
    if not (isinstance(chunk, int) and not isinstance(chunk, bool) and chunk >= 1):
        raise ValueError(f"chunk must be an integer >= 1 (or None), got {chunk!r}")
    mdl = get_model(model, datas[0].P)
    keep_freed_memory()  # as the single trainer: reuse freed arrays instead of page-faulting fresh ones
    with blas_threads(configs[0].blas_threads):
        return _train_batched(datas, configs, mdl, progress, cache_test_sets, chunk)


def _sgd_step(model, params, samples, lr, wd, chunk, who, step) -> np.ndarray:
    """One SGD step of every run in the stack, in slices of ``chunk`` runs; returns the (R,) losses.

    ``samples`` are the runs' batches; ``who[i]`` names the run at stack position i in errors. A slice of
    one run takes the single run's own code path on views of the stack (no stacking at all).
    """
    R = len(samples)
    losses = np.empty(R)
    for i0 in range(0, R, chunk):
        sl = slice(i0, min(i0 + chunk, R))
        if sl.stop - sl.start == 1:  # the single trainer's step and checks, on views of the stack
            losses[i0] = checked_step(
                model, run_params(params, i0), samples[i0], lr[i0], wd[i0], who[i0], step
            )
            continue
        p = {k: v[sl] for k, v in params.items()}  # views: the update writes into the stack
        tokens = np.stack([b.tokens for b in samples[sl]])
        labels = np.stack([b.labels for b in samples[sl]])
        loss, grads = model.loss_and_grads(p, tokens, labels)
        finite = np.isfinite(loss)
        if not finite.all():
            i = int(np.argmin(finite))
            raise FloatingPointError(f"{who[i0 + i]} diverged at step {step}: loss = {loss[i]}")
        sgd_update_stacked(p, grads, lr[sl], wd[sl])
        finite = {k: np.isfinite(v).reshape(len(loss), -1).all(axis=1) for k, v in p.items()}
        ok = np.logical_and.reduce(list(finite.values()))
        if not ok.all():
            i = int(np.argmin(ok))
            bad = [k for k, f in finite.items() if not f[i]]
            raise FloatingPointError(f"{who[i0 + i]} diverged at step {step}: non-finite {bad}")
        losses[sl] = loss
    return losses


def _train_batched(datas, configs, model, progress, cache, chunk):
    dtype = np.dtype(configs[0].dtype)
    d0, batch = datas[0], configs[0].batch
    if cache is None:
        per_number = len(EVAL_SETS) * d0.T * d0.width * dtype.itemsize
        cache = sum(c.eval_size for c in configs) * per_number <= TEST_SET_CACHE_BYTES
    runs = []
    for data, cfg in zip(datas, configs, strict=True):
        sets = evaluation_sets(data, cfg)
        runs.append(
            _Run(data, cfg, Task(data), sets if cache else None, sets["ic"].context_match, Recorder())
        )
    params = stack_params([initial_params(model, r.data, r.cfg) for r in runs])
    results: list[TrainResult | None] = [None] * len(runs)
    active = list(range(len(runs)))
    lr = wd = who = None
    total = max(c.steps for c in configs)
    bar = tqdm(total=total, disable=not progress, desc=f"ICL SGD x{len(runs)}", leave=False)
    step = 0
    while True:
        done = []  # positions in the stack of the runs that end before this step
        for i, j in enumerate(active):
            run = runs[j]
            if step == run.cfg.steps:  # the single run's for-else: a final record
                run.record(run_params(params, i), step, model)
                done.append(i)
            elif step % run.cfg.eval_every == 0:
                run.record(run_params(params, i), step, model)
                stop = run.cfg.stop_at_ic
                if stop and run.rec.history["acc_ic"][-1] >= stop:
                    done.append(i)
        if done:
            for i in done:
                results[active[i]] = runs[active[i]].result(run_params(params, i))
            keep = [i for i in range(len(active)) if i not in done]
            params = {k: v[keep] for k, v in params.items()}
            active = [active[i] for i in keep]
            lr = None
        if not active:
            break
        if lr is None:
            lr = np.array([runs[j].cfg.lr for j in active])
            wd = np.array([runs[j].cfg.weight_decay for j in active])
            who = [f"classification run {j} (seed {runs[j].cfg.seed})" for j in active]
        samples = [
            runs[j].task.sample(batch_rng(runs[j].cfg.seed, step), batch, "train", dtype) for j in active
        ]
        losses = _sgd_step(model, params, samples, lr, wd, chunk, who, step)
        for i, j in enumerate(active):
            runs[j].rec.running.append(float(losses[i]))
        step += 1
        bar.update(1)
    bar.close()
    return results
