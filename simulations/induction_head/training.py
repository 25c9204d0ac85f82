"""SGD with decoupled weight decay for the classification network and the minimal model, with evaluation,
checkpoints and resume.

Update (docs/induction_head.md §2): p ← (1 − weight_decay) p − lr ∇p, a fresh batch every step; the batch
at step k is a function of (seed, k), so a resumed run continues with exactly the batches it would have
seen. A checkpoint carries a fingerprint of everything that determines the run (data, model, optimiser,
evaluation), so a run with another config never resumes it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import config, fingerprint, require, to_dict
from ..memory import keep_freed_memory
from ..seeding import batch_rng, stream_rng
from ..storage import write_npz
from ..threads import blas_threads
from . import network
from .data import DataConfig, Task
from .measures import accuracy, progress_measures
from .minimal import MinimalInductionHead

EVAL_SETS = ("ic", "ic2", "iw", "train")
SPLIT_SETS = {
    "iw_common": ("iw", "common"),
    "iw_rare": ("iw", "rare"),
    "ic2_common": ("ic2", "common"),
    "ic2_rare": ("ic2", "rare"),
}
"""Evaluated when α > 0 (else NaN): IW and IC2 accuracy on the common and the rare classes apart."""
N_EXAMPLES = 8  # IC test sequences whose layer-2 attention rows are kept at every evaluation
HISTORY_KEYS = (
    "step",
    "loss",
    "acc_ic",
    "acc_ic2",
    "acc_iw",
    "acc_train",
    "ILA1",
    "TILA2",
    "TLA2",
    "CLA",
    *(f"acc_{k}" for k in SPLIT_SETS),
)
MODELS = ("network", "minimal")


class ResumedWarning(UserWarning):
    """A training run continued from its checkpoint instead of starting afresh."""


@config
class TrainConfig:
    """Optimiser and bookkeeping of a classification run.

    Attributes
    ----------
    steps : int
        SGD steps (each on a fresh batch).
    batch : int
        Sequences per step.
    lr : float
        Learning rate.
    weight_decay : float
        Decoupled weight decay per step, in [0, 1).
    eval_every : int
        Evaluate on the fixed test sets every this many steps.
    eval_size : int
        Sequences in each fixed test set.
    checkpoint_every : int
        Write the checkpoint (when one is given) every this many steps.
    seed : int
        Seed of the initialisation, the batches and the test sets.
    dtype : str
        "float32" (default: faster, same curves) or "float64".
    stop_at_ic : float
        End at the first evaluation whose IC accuracy reaches this (0: never; sweeps that only need the
        transition step).
    blas_threads : int
        BLAS threads used while training (1 is fastest on a laptop).
    init_scale : float
        Every initial weight is multiplied by this (1: the initialisation of docs/induction_head.md §2); the
        jump's timing depends on it (docs §4).
    """

    steps: int = 150000
    batch: int = 128
    lr: float = 0.01
    weight_decay: float = 1e-6
    eval_every: int = 1000
    eval_size: int = 10000
    checkpoint_every: int = 5000
    seed: int = 0
    dtype: str = "float32"
    stop_at_ic: float = 0.0
    blas_threads: int = 1
    init_scale: float = 1.0

    def __post_init__(self):
        require(self.steps >= 1, "steps", "be >= 1")
        require(self.batch >= 1, "batch", "be >= 1")
        require(self.lr > 0, "lr", "be > 0")
        require(0 <= self.weight_decay < 1, "weight_decay", "lie in [0, 1)")
        require(self.eval_every >= 1, "eval_every", "be >= 1")
        require(self.eval_size >= 10, "eval_size", "be >= 10")
        require(self.checkpoint_every >= 1, "checkpoint_every", "be >= 1")
        require(self.seed >= 0, "seed", "be >= 0")
        require(self.dtype in ("float32", "float64"), "dtype", "be 'float32' or 'float64'")
        require(0 <= self.stop_at_ic <= 1, "stop_at_ic", "lie in [0, 1] (0: never stop early)")
        require(self.blas_threads >= 1, "blas_threads", "be >= 1")
        require(self.init_scale > 0, "init_scale", "be > 0")


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    params : dict
        Final weights.
    history : dict of (n_eval,) arrays
        Each of :data:`HISTORY_KEYS`: the step, the mean training loss since the last evaluation, the
        accuracies on the fixed IC, IC2, IW and training-mixture sets, and the progress measures.
    maps : dict
        ``attn1`` (n_eval, T, T): the IC-set mean layer-1 map; ``attn2`` (n_eval, 8, T): the target's
        layer-2 row for the first 8 IC test sequences; ``context_match`` (8, N).
    resumed_at : int or None
        The step a checkpoint was resumed from (None: a fresh run).
    """

    params: dict
    history: dict
    maps: dict
    resumed_at: int | None = None

    def __repr__(self) -> str:
        h = self.history
        return (
            f"TrainResult(steps={int(h['step'][-1])}, acc_ic={h['acc_ic'][-1]:.3f}, "
            f"acc_iw={h['acc_iw'][-1]:.3f}, resumed_at={self.resumed_at})"
        )


def get_model(model, P: int):
    """The model to train: "network" (:mod:`.network`), "minimal" (:class:`.MinimalInductionHead`) or an
    object with ``init_params``, ``forward`` and ``loss_and_grads``."""
    if isinstance(model, str):
        require(model in MODELS, "model", f"be one of {', '.join(MODELS)}")
        return network if model == "network" else MinimalInductionHead(P)
    if not all(hasattr(model, a) for a in ("init_params", "forward", "loss_and_grads")):
        raise ValueError(
            "model must be 'network', 'minimal' or an object with init_params, forward and loss_and_grads"
        )
    return model


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


def evaluation_sets(data: DataConfig, config: TrainConfig) -> dict:
    """The fixed evaluation sets of a run (drawn from the run's seed). B = 0 training data has no bursty
    sequences: its IC and IC2 sets use B = 1 (the target's class once in context). With α > 0 the sets of
    :data:`SPLIT_SETS` are added."""
    dtype = np.dtype(config.dtype)
    task = Task(data)
    bursty = task if data.B > 0 else Task(replace(data, B=1))
    sets = {
        name: (bursty if name in ("ic", "ic2") else task).sample(
            stream_rng(config.seed, f"test-{name}"), config.eval_size, name, dtype=dtype
        )
        for name in EVAL_SETS
    }
    if data.alpha > 0:
        for name, (kind, classes) in SPLIT_SETS.items():
            sets[name] = (bursty if kind == "ic2" else task).sample(
                stream_rng(config.seed, f"test-{name}"), config.eval_size, kind, dtype=dtype, classes=classes
            )
    return sets


def initial_params(model, data: DataConfig, config: TrainConfig) -> dict:
    """The model's initialisation from ``stream_rng(seed, "init")``, every weight times ``init_scale``."""
    dtype = np.dtype(config.dtype)
    params = model.init_params(data, stream_rng(config.seed, "init"), dtype=dtype)
    if config.init_scale != 1.0:
        params = {k: (v * config.init_scale).astype(dtype) for k, v in params.items()}
    return params


def sgd_update(params: dict, grads: dict, lr: float, weight_decay: float) -> None:
    """One SGD step with decoupled weight decay, in place: p ← (1 − weight_decay) p − lr ∇p.

    The scalars take each parameter's dtype, so float32 weights stay float32.
    """
    for k, p in params.items():
        p *= p.dtype.type(1 - weight_decay)
        p -= p.dtype.type(lr) * grads[k]


def checked_step(model, params: dict, batch, lr: float, weight_decay: float, who: str, step: int) -> float:
    """One SGD step in place (:func:`sgd_update`); a FloatingPointError naming ``who``, the step and the
    quantity when the loss or a weight is not finite. Returns the loss."""
    loss, grads = model.loss_and_grads(params, batch.tokens, batch.labels)
    if not np.isfinite(loss):
        raise FloatingPointError(f"{who} diverged at step {step}: loss = {loss}")
    sgd_update(params, grads, lr, weight_decay)
    bad = [k for k, v in params.items() if not np.all(np.isfinite(v))]
    if bad:
        raise FloatingPointError(f"{who} diverged at step {step}: non-finite {bad}")
    return float(loss)


@dataclass
class Recorder:
    """A run's history and attention maps: an evaluation every ``eval_every`` steps, with the mean training
    loss since the previous one (docs/induction_head.md §3)."""

    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    maps: dict = field(default_factory=lambda: {"attn1": [], "attn2": []})
    running: list = field(default_factory=list)

    def recorded(self, step: int) -> bool:
        return bool(self.history["step"]) and self.history["step"][-1] == step

    def record(self, params: dict, step: int, test_sets: dict, model) -> None:
        ev = evaluate(params, test_sets, model)
        h = self.history
        h["step"].append(step)
        h["loss"].append(float(np.mean(self.running)) if self.running else np.nan)
        for k in HISTORY_KEYS[2:]:
            h[k].append(ev.get(k, np.nan))
        self.maps["attn1"].append(ev["attn1_mean"])
        self.maps["attn2"].append(ev["attn2_examples"])
        self.running.clear()

    def result(self, params: dict, context_match: np.ndarray, resumed: int | None = None) -> TrainResult:
        maps = {k: np.asarray(v) for k, v in self.maps.items()}
        maps["context_match"] = context_match[:N_EXAMPLES]
        history = {k: np.asarray(v, dtype=float) for k, v in self.history.items()}
        return TrainResult(params, history, maps, resumed)


def run_fingerprint(data: DataConfig, config: TrainConfig, model) -> str:
    """What a checkpoint must match to be resumed: everything but the step budget and bookkeeping."""
    name = model if isinstance(model, str) else type(model).__name__
    keep = replace(config, steps=1, checkpoint_every=1, stop_at_ic=0.0, blas_threads=1)
    return fingerprint(_Run(data, keep, name))


@dataclass(frozen=True)
class _Run:
    data: DataConfig
    train: TrainConfig
    model: str


def _resume(path: Path, tag: str):
    with np.load(path) as z:
        found = str(z["fingerprint"]) if "fingerprint" in z.files else "none"
        if found != tag:
            raise ValueError(
                f"checkpoint {path} was written by another config (fingerprint {found}, this run "
                f"{tag}); delete it or give another checkpoint path"
            )
        step = int(z["step"])
        params = {k[6:]: z[k] for k in z.files if k.startswith("param/")}
        n = len(z["hist/step"])
        history = {k: list(z[f"hist/{k}"]) if f"hist/{k}" in z.files else [np.nan] * n for k in HISTORY_KEYS}
        maps = {k: list(z[f"maps/{k}"]) for k in ("attn1", "attn2")}
    return step, params, Recorder(history, maps)


def train(
    data: DataConfig, config: TrainConfig, model="network", *, checkpoint=None, progress: bool = False
) -> TrainResult:
    """Train from the initialisation of docs/induction_head.md §2; resume from ``checkpoint`` if it exists.

    Parameters
    ----------
    data : DataConfig
    config : TrainConfig
    model : {"network", "minimal"} or model object
        The full network (default) or the minimal induction-head model; see :func:`get_model`.
    checkpoint : path, optional
        Written every ``checkpoint_every`` steps; resumed from when it exists and was written by the same
        data, model and config (else a ValueError). A resume issues a :class:`ResumedWarning`.
    progress : bool
        Show a progress bar.

    Raises
    ------
    FloatingPointError
        On a non-finite loss or weight, naming the step and the parameters.
    """
    if not isinstance(data, DataConfig):
        raise ValueError(f"data must be a DataConfig, got {type(data).__name__}")
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be an induction_head.TrainConfig, got {type(config).__name__}")
    mdl = get_model(model, data.P)
    keep_freed_memory()  # glibc: reuse freed arrays instead of page-faulting fresh ones every step
    with blas_threads(config.blas_threads):
        return _train(
            data,
            config,
            mdl,
            run_fingerprint(data, config, model),
            None if checkpoint is None else Path(checkpoint),
            progress,
        )


def _train(data, cfg, model, tag, checkpoint, progress):
    dtype = np.dtype(cfg.dtype)
    task = Task(data)
    sets = evaluation_sets(data, cfg)
    start, resumed = 0, None
    if checkpoint is not None and checkpoint.exists():
        start, params, rec = _resume(checkpoint, tag)
        resumed = start
        warnings.warn(f"resumed {checkpoint} at step {start}", ResumedWarning, stacklevel=3)
    else:
        params, rec = initial_params(model, data, cfg), Recorder()

    def save(step):
        write_npz(
            checkpoint,
            {
                "step": step,
                "fingerprint": tag,
                "config": repr(to_dict(cfg)),
                **{f"param/{k}": v for k, v in params.items()},
                **{f"hist/{k}": np.asarray(v) for k, v in rec.history.items()},
                **{f"maps/{k}": np.asarray(v) for k, v in rec.maps.items()},
            },
        )

    for step in tqdm(
        range(start, cfg.steps),
        initial=start,
        total=cfg.steps,
        disable=not progress,
        desc="ICL SGD",
        leave=False,
    ):
        if step % cfg.eval_every == 0 and not rec.recorded(step):
            rec.record(params, step, sets, model)
            if cfg.stop_at_ic and rec.history["acc_ic"][-1] >= cfg.stop_at_ic:
                break
        batch = task.sample(batch_rng(cfg.seed, step), cfg.batch, "train", dtype=dtype)
        loss = checked_step(model, params, batch, cfg.lr, cfg.weight_decay, "classification training", step)
        rec.running.append(loss)
        if checkpoint is not None and (step + 1) % cfg.checkpoint_every == 0:
            save(step + 1)
    else:
        if not rec.recorded(cfg.steps):
            rec.record(params, cfg.steps, sets, model)
    return rec.result(params, sets["ic"].context_match, resumed)
