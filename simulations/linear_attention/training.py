"""Train the numpy LSA network by SGD on freshly sampled prompts (time = learning rate × steps)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..config import config, require
from ..seeding import batch_rng, stream_rng
from ..threads import blas_threads
from .network import effective_matrix, embed, loss, loss_and_grads, paper_init
from .prompts import PromptDistribution


class AveragingWindowWarning(UserWarning):
    """The Polyak-averaging window holds a drift larger than its tolerance (it started too early)."""


@config
class TrainConfig:
    """SGD for the LSA network.

    Attributes
    ----------
    N : int
        Training prompt length (examples per prompt).
    lr : float
        Learning rate (time = lr × steps); see :func:`theory.linear_attention.stable_lr`.
    steps : int
        SGD steps, each on a fresh batch.
    batch : int
        Prompts per step.
    seed : int
        Seed of the batches, the evaluation set and any random initialisation.
    record_every : int
        Record the evaluation loss and u·U every this many steps up to the averaging window, then as
        ``window_records`` sets, and at the last step (:meth:`records_at`).
    window_records : int
        At least this many records inside the averaging window (when it has room for them at
        ``record_every``), spaced at a multiple of ``record_every`` and fewer than twice this many
        (:meth:`records_at`). The drift check needs 16; the history and u·U are recorded there too.
    eval_size : int
        Prompts in the fixed evaluation set.
    average_last : float
        Fraction of the final steps over which the weights are Polyak-averaged, in (0, 1].
    drift_tol : float
        Largest systematic relative change of u·U allowed between the two halves of the averaging window
        before :class:`AveragingWindowWarning` is issued.
    blas_threads : int
        BLAS threads used while training.
    """

    N: int = 20
    lr: float = 0.01
    steps: int = 1000
    batch: int = 512
    seed: int = 0
    record_every: int = 10
    window_records: int = 200
    eval_size: int = 4096
    average_last: float = 0.25
    drift_tol: float = 0.01
    blas_threads: int = 1

    def __post_init__(self):
        for name in ("N", "steps", "batch", "record_every", "eval_size", "blas_threads"):
            require(getattr(self, name) >= 1, name, "be an integer >= 1")
        require(self.window_records >= 16, "window_records", "be an integer >= 16 (the drift check needs 16)")
        require(self.seed >= 0, "seed", "be an integer >= 0")
        require(self.lr > 0, "lr", "be a finite number > 0")
        require(0 < self.average_last <= 1, "average_last", "lie in (0, 1]")
        require(self.drift_tol > 0, "drift_tol", "be a finite number > 0")

    def records_at(self, step: int) -> bool:
        """Whether :class:`Recorder` records at ``step``: every ``record_every`` steps up to the averaging
        window's start, then every ``record_every`` × max(1, ⌊window / (``record_every`` ×
        ``window_records``)⌋) steps, and at the last step."""
        start = averaging_start(self)
        every = self.record_every
        if step > start:
            every *= max(1, (self.steps - start) // (every * self.window_records))
        return step == self.steps or step % every == 0


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    params : dict
        Final iterate (``W_PV``, ``W_KQ``).
    params_avg : dict
        Polyak–Ruppert average of the weights over the averaging window: the trained network the
        experiments evaluate (its zero-mean SGD fluctuations cancel).
    history : dict of (n,) arrays
        ``step``, ``time`` (lr × step) and ``eval_loss`` (loss on the fixed evaluation set) at each record.
    V : (n, d, d) ndarray
        Effective matrix u·U (:func:`~simulations.linear_attention.network.effective_matrix`) at each record.
    V_avg : (d, d) ndarray
        Effective matrix of ``params_avg``.
    average_start : int
        First step of the averaging window.
    window_drift : float
        Systematic change of u·U between the two halves of the window, relative to its norm (0 when within
        SGD noise; see ``_window_drift``).
    window_settled : bool
        ``window_drift`` <= the config's ``drift_tol`` (else an :class:`AveragingWindowWarning` was issued).
    """

    params: dict
    params_avg: dict
    history: dict
    V: np.ndarray
    V_avg: np.ndarray
    average_start: int
    window_drift: float
    window_settled: bool

    @property
    def time(self) -> np.ndarray:
        return self.history["time"]

    @property
    def eval_loss(self) -> np.ndarray:
        return self.history["eval_loss"]

    def __repr__(self) -> str:
        return (
            f"TrainResult(steps={int(self.history['step'][-1])}, final eval_loss="
            f"{self.history['eval_loss'][-1]:.4g}, window_drift={self.window_drift:.3g})"
        )


def train(
    dist: PromptDistribution, config: TrainConfig, init: dict | None = None, *, progress: bool = False
) -> TrainResult:
    """SGD on ½(ŷ − y_q)² with a fresh batch each step; the batch at step k is a function of (seed, k).

    Parameters
    ----------
    dist : PromptDistribution
        Training prompt law.
    config : TrainConfig
    init : dict, optional
        Initial ``W_PV``, ``W_KQ`` (copied, not modified); default the paper's initialisation
        (:func:`~simulations.linear_attention.network.paper_init`) with σ = 1/√d.
    progress : bool
        Show a progress bar.

    Raises
    ------
    FloatingPointError
        When the loss or a weight becomes non-finite (names the step and the parameter).
    """
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution, got {type(dist).__name__}")
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a linear_attention.TrainConfig, got {type(config).__name__}")
    d, cfg = dist.d, config
    init = paper_init(d, d**-0.5) if init is None else init
    shapes = {"W_PV": (d + 1, d + 1), "W_KQ": (d + 1, d + 1)}
    if set(init) != set(shapes) or any(np.shape(init[k]) != s for k, s in shapes.items()):
        raise ValueError(f"init must hold W_PV and W_KQ of shape ({d + 1}, {d + 1})")
    p = {k: np.array(v, dtype=np.float64, copy=True) for k, v in init.items()}
    if not all(np.all(np.isfinite(v)) for v in p.values()):
        raise ValueError("init must be finite")
    with blas_threads(cfg.blas_threads):
        return _train(p, dist, cfg, progress)


def checked_step(p: dict, prompts, lr: float, who: str, step: int) -> None:
    """One SGD step p ← p − lr ∇p in place; a FloatingPointError naming ``who``, the step and the quantity
    when the loss or a weight is not finite."""
    loss, grads = loss_and_grads(p, embed(prompts.X, prompts.y, prompts.x_query), prompts.y_query)
    if not np.isfinite(loss):
        raise FloatingPointError(f"{who} diverged at step {step}: loss = {loss} (lr = {lr} may be too large)")
    for k in p:
        p[k] -= lr * grads[k]
        if not np.all(np.isfinite(p[k])):
            raise FloatingPointError(f"{who} diverged at step {step}: parameter {k} is non-finite")


def averaging_start(cfg: TrainConfig) -> int:
    """The step after which iterates enter the average (the last ``average_last`` of the run)."""
    return min(int(round(cfg.steps * (1 - cfg.average_last))), cfg.steps - 1)


@dataclass
class Recorder:
    """A run's evaluation loss and u·U on its fixed evaluation prompts at the steps
    :meth:`TrainConfig.records_at` names, and the averaged result with its drift check
    (docs/linear_attention.md §7)."""

    cfg: TrainConfig
    E_ev: np.ndarray
    y_ev: np.ndarray
    steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    Vs: list = field(default_factory=list)

    @classmethod
    def for_run(cls, dist: PromptDistribution, cfg: TrainConfig) -> Recorder:
        ev = dist.sample(stream_rng(cfg.seed, "eval"), cfg.eval_size, cfg.N)
        return cls(cfg, embed(ev.X, ev.y, ev.x_query), ev.y_query)

    def record(self, p: dict, step: int) -> None:
        self.steps.append(step)
        self.losses.append(loss(p, self.E_ev, self.y_ev))
        self.Vs.append(effective_matrix(p))

    def result(self, p: dict, p_sum: dict, label: str = "") -> TrainResult:
        """The run's result from its final weights and the sum of the averaged iterates; an
        :class:`AveragingWindowWarning` (prefixed by ``label``, pointing at the trainer's caller) when the
        window drifted."""
        cfg, start_avg = self.cfg, averaging_start(self.cfg)
        p_avg = {k: v / (cfg.steps - start_avg) for k, v in p_sum.items()}
        steps, Vs = np.array(self.steps), np.array(self.Vs)
        drift = _window_drift(steps, Vs, start_avg)
        settled = drift <= cfg.drift_tol
        if not settled:
            warnings.warn(
                f"{label}u·U drifted by {drift:.3g} (relative) between the two halves of the averaging "
                f"window (steps {start_avg}–{cfg.steps}); the window started before the slow modes "
                "converged: train longer or average over fewer steps",
                AveragingWindowWarning,
                stacklevel=4,  # this method, the trainer's loop, the trainer, its caller
            )
        history = {"step": steps, "time": cfg.lr * steps, "eval_loss": np.array(self.losses)}
        return TrainResult(p, p_avg, history, Vs, effective_matrix(p_avg), start_avg, drift, settled)


def _train(p, dist, cfg, progress):
    rec = Recorder.for_run(dist, cfg)
    start_avg = averaging_start(cfg)
    p_sum = {k: np.zeros_like(v) for k, v in p.items()}
    for step in tqdm(range(cfg.steps), disable=not progress, desc="LSA SGD", leave=False):
        if cfg.records_at(step):
            rec.record(p, step)
        checked_step(
            p, dist.sample(batch_rng(cfg.seed, step), cfg.batch, cfg.N), cfg.lr, "LSA training", step
        )
        if step + 1 > start_avg:  # the average is over the iterates after steps start_avg + 1 … steps
            for k in p:
                p_sum[k] += p[k]
    rec.record(p, cfg.steps)
    return rec.result(p, p_sum)


def _window_drift(steps, Vs, start) -> float:
    """Systematic change of u·U across the averaging window, relative to ‖V̄‖_F (0 when it is within noise).

    The window's records are cut into 8 blocks (blocks, not records: SGD noise in the slow modes is correlated
    over many steps). D is the mean of the last 4 block means minus the mean of the first 4. If the window
    started after convergence, both halves are draws of the same stationary noise, whose size the last 4
    blocks show: D counts as a drift when ‖D‖_F exceeds 3 standard errors of such a difference. Returns
    ‖D‖_F / ‖V̄‖_F if it counts, else 0; with fewer than 16 records in the window, 0 (nothing to judge).
    """
    inside = np.nonzero(steps > start)[0]
    if len(inside) < 16:
        return 0.0
    blocks = np.array([Vs[idx].mean(axis=0) for idx in np.array_split(inside, 8)])
    diff = blocks[4:].mean(axis=0) - blocks[:4].mean(axis=0)
    se = float(np.sqrt(np.sum(2 * blocks[4:].var(axis=0, ddof=1) / 4)))
    size = float(np.linalg.norm(diff))
    if size <= 3 * se:
        return 0.0
    return size / max(float(np.linalg.norm(blocks.mean(axis=0))), 1e-300)
