"""SGD with decoupled weight decay for the classification network, with evaluation, checkpoints and resume.

Update (spec induction_head §2): p ← (1 − weight_decay) p − lr ∇p, a fresh batch every step; the batch at
step k is a function of (seed, k), so a resumed run continues with exactly the batches it would have seen.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import require
from ..memory import keep_freed_memory
from ..seeding import batch_rng, stream_rng
from .data import DataConfig, Task
from .measures import accuracy, progress_measures
from . import network

EVAL_SETS = ("ic", "ic2", "iw", "train")
N_EXAMPLES = 8  # IC test sequences whose layer-2 attention rows are kept at every evaluation
HISTORY_KEYS = ("step", "loss", "acc_ic", "acc_ic2", "acc_iw", "acc_train", "ILA1", "TILA2", "TLA2", "CLA")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and bookkeeping. ``dtype`` is "float32" (default: faster, same curves) or "float64".
    ``stop_at_ic`` > 0 ends training at the first evaluation whose IC accuracy reaches it (for sweeps that
    only need the transition step)."""

    steps: int = 20000
    batch: int = 128
    lr: float = 0.01
    weight_decay: float = 1e-6
    eval_every: int = 250
    eval_size: int = 2000
    checkpoint_every: int = 2000
    seed: int = 0
    dtype: str = "float32"
    stop_at_ic: float = 0.0

    def __post_init__(self):
        require(self.steps >= 1, "steps", "be >= 1")
        require(self.batch >= 1, "batch", "be >= 1")
        require(self.lr > 0, "lr", "be > 0")
        require(0 <= self.weight_decay < 1, "weight_decay", "lie in [0, 1)")
        require(self.eval_every >= 1, "eval_every", "be >= 1")
        require(self.eval_size >= 10, "eval_size", "be >= 10")
        require(self.checkpoint_every >= 1, "checkpoint_every", "be >= 1")
        require(self.dtype in ("float32", "float64"), "dtype", "be 'float32' or 'float64'")
        require(0 <= self.stop_at_ic <= 1, "stop_at_ic", "lie in [0, 1] (0: never stop early)")


def evaluate(params, test_sets: dict, model=network) -> dict[str, float]:
    """Accuracy on every fixed test set, progress measures on the IC set, and the mean attention maps."""
    out = {}
    for name, batch in test_sets.items():
        logits, a1, a2 = model.forward(params, batch.tokens)
        out[f"acc_{name}"] = accuracy(logits, batch.labels)
        if name == "ic":
            out.update(progress_measures(a1, a2, logits, batch))
            out["attn1_mean"], out["attn2_examples"] = a1.mean(axis=0), a2[:N_EXAMPLES]
    return out


def _save_checkpoint(path: Path, step: int, params: dict, history: dict, maps: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, step=step, **{f"param/{k}": v for k, v in params.items()},
                 **{f"hist/{k}": np.asarray(v) for k, v in history.items()},
                 **{f"maps/{k}": np.asarray(v) for k, v in maps.items()})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sgd_update(params: dict, grads: dict, lr: float, weight_decay: float) -> None:
    """One SGD step with decoupled weight decay, in place: p ← (1 − weight_decay) p − lr ∇p (spec §2).

    The scalars take each parameter's dtype, so float32 weights stay float32.
    """
    for k, p in params.items():
        p *= p.dtype.type(1 - weight_decay)
        p -= p.dtype.type(lr) * grads[k]


def train(data_cfg: DataConfig, cfg: TrainConfig, *, checkpoint: Path | None = None, progress: bool = False,
          model=network):
    """Train from the spec's initialisation; resume from ``checkpoint`` if it exists.

    ``model`` is anything with ``init_params(config, rng, dtype)``, ``forward(params, tokens)`` and
    ``loss_and_grads(params, tokens, labels)``: the full network (module :mod:`.network`, default) or a
    :class:`~.minimal.MinimalInductionHead`.

    Returns
    -------
    (params, history, maps): history maps each of :data:`HISTORY_KEYS` to an array over evaluations;
    maps holds the IC-set mean layer-1 map ``attn1`` (n_eval, T, T), the target's layer-2 row for the first
    :data:`N_EXAMPLES` IC test sequences ``attn2`` (n_eval, 8, T) and their ``context_match`` (8, N).

    Raises
    ------
    FloatingPointError
        On a non-finite loss or weight, naming the step and the parameters.
    """
    keep_freed_memory()  # glibc: reuse freed arrays instead of page-faulting fresh ones every step
    dtype = np.dtype(cfg.dtype)
    task = Task(data_cfg)
    # B = 0 training data has no bursty sequences; its IC and IC2 test sets use B = 1 (target once in context)
    test_task = task if data_cfg.B > 0 else Task(replace(data_cfg, B=1))
    test_sets = {name: (test_task if name in ("ic", "ic2") else task).sample(
        stream_rng(cfg.seed, f"test-{name}"), cfg.eval_size, name, dtype=dtype) for name in EVAL_SETS}
    history = {k: [] for k in HISTORY_KEYS}
    maps = {"attn1": [], "attn2": []}
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        with np.load(checkpoint) as z:
            start = int(z["step"])
            params = {k[6:]: z[k] for k in z.files if k.startswith("param/")}
            history = {k: list(z[f"hist/{k}"]) for k in HISTORY_KEYS}
            maps = {k: list(z[f"maps/{k}"]) for k in maps}
    else:
        params = model.init_params(data_cfg, stream_rng(cfg.seed, "init"), dtype=dtype)
    running = []

    def record(step):
        ev = evaluate(params, test_sets, model)
        history["step"].append(step)
        history["loss"].append(float(np.mean(running)) if running else np.nan)
        for k in HISTORY_KEYS[2:]:
            history[k].append(ev.get(k, np.nan))
        if "attn1_mean" in ev:
            maps["attn1"].append(ev["attn1_mean"])
            maps["attn2"].append(ev["attn2_examples"])
        running.clear()

    for step in tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, disable=not progress,
                     desc="ICL SGD", leave=False):
        if step % cfg.eval_every == 0 and not (history["step"] and history["step"][-1] == step):
            record(step)
            if cfg.stop_at_ic and history["acc_ic"][-1] >= cfg.stop_at_ic:
                break
        batch = task.sample(batch_rng(cfg.seed, step), cfg.batch, "train", dtype=dtype)
        loss, grads = model.loss_and_grads(params, batch.tokens, batch.labels)
        if not np.isfinite(loss):
            raise FloatingPointError(f"classification training diverged at step {step}: loss = {loss}")
        sgd_update(params, grads, cfg.lr, cfg.weight_decay)
        bad = [k for k, v in params.items() if not np.all(np.isfinite(v))]
        if bad:
            raise FloatingPointError(f"classification training diverged at step {step}: non-finite {bad}")
        running.append(loss)
        if checkpoint is not None and (step + 1) % cfg.checkpoint_every == 0:
            _save_checkpoint(Path(checkpoint), step + 1, params, history, maps)
    else:
        record(cfg.steps)
    out_maps = {k: np.asarray(v) for k, v in maps.items()}
    out_maps["context_match"] = test_sets["ic"].context_match[:N_EXAMPLES]
    return params, {k: np.asarray(v, dtype=float) for k, v in history.items()}, out_maps
