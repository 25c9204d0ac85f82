"""Classification experiments (spec induction_head §4): abrupt in-context learning and its progress measures."""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..config import require, to_dict
from ..parallel import run_all
from ..plotting import plt, save
from ..registry import Experiment, Outcome, register
from ..results import Check
from . import network
from .data import DataConfig
from .minimal import MinimalInductionHead
from .train import TrainConfig, train

_DATA = {f.name for f in fields(DataConfig)}
_TRAIN = {f.name for f in fields(TrainConfig)} - {"seed"}


def _checkpoint(cfg, name: str):
    """Checkpoint file for one training run, or None when ``cfg.checkpoint_dir`` is empty.

    The name carries a hash of the config (bar the checkpoint fields), so a changed config never resumes
    another config's weights.
    """
    if not cfg.checkpoint_dir:
        return None
    fields_ = {k: v for k, v in to_dict(cfg).items() if not k.startswith("checkpoint")}
    tag = f"{zlib.crc32(json.dumps(fields_, sort_keys=True).encode()):08x}"
    d = Path(cfg.checkpoint_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}-{tag}.npz"


@dataclass(frozen=True)
class RunFields:
    """The data fields of :class:`DataConfig` and the optimiser fields of :class:`TrainConfig`, flat, so
    that ``--set`` reaches every one. Defaults: the quick setting (docs/classification.md, "The quick
    setting"): N = 4, L = 8, K = 128, width 64, B = 1, half the sequences novel (p_C = 0.5), lr = 0.05."""

    K: int = 128
    L: int = 8
    N: int = 4
    D: int = 31
    P: int = 33
    epsilon: float = 0.1
    alpha: float = 0.0
    B: int = 1
    p_B: float = 1.0
    p_C: float = 0.5
    steps: int = 5000
    batch: int = 128
    lr: float = 0.05
    weight_decay: float = 1e-6
    eval_every: int = 100
    eval_size: int = 1000
    checkpoint_every: int = 100000
    checkpoint_dir: str = ""
    dtype: str = "float32"
    stop_at_ic: float = 0.0

    def __post_init__(self):
        self.data()  # validates the data fields with their own messages
        self.optimiser(0)

    def data(self, **overrides) -> DataConfig:
        kw = {k: getattr(self, k) for k in _DATA if hasattr(self, k)}
        kw.update(overrides)
        return DataConfig(**kw)

    def optimiser(self, seed: int, **overrides) -> TrainConfig:
        kw = {k: getattr(self, k) for k in _TRAIN}
        kw.update(overrides)
        return TrainConfig(seed=seed, **kw)


def model_for(name: str, P: int):
    """The model trained: the module :mod:`.network` or a :class:`.minimal.MinimalInductionHead`."""
    require(name in ("network", "minimal"), "model", "be 'network' or 'minimal'")
    return network if name == "network" else MinimalInductionHead(P)


@dataclass(frozen=True)
class CurvesConfig(RunFields):
    """Training curves over ``seeds``: the slow phase and the jump in ≈ 25 s a seed at the defaults.

    With ``checkpoint_dir`` set, every seed checkpoints there and the same command resumes it.
    ``model = "minimal"`` trains the minimal induction-head model (:mod:`.minimal`) instead; its
    progress-measure orderings are then reported, not checked (its ILA1 = σ(β₁) is not identifiable once
    α is large: only α σ(β₁) enters the layer-2 logit).
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    model: str = "network"

    def __post_init__(self):
        require(len(self.seeds) > 0, "seeds", "be a non-empty list")
        model_for(self.model, self.P)
        super().__post_init__()

    def network(self):
        return model_for(self.model, self.P)


PAPER = {"K": 512, "L": 32, "N": 8, "D": 63, "P": 65, "B": 2, "p_C": 0.5, "lr": 0.01, "steps": 150000,
         "eval_every": 1000, "eval_size": 10000, "checkpoint_every": 5000}
"""The paper profile's setting (spec §2 and §4's headline), shared by every classification experiment.

p_C = 0.5 as in the quick profile: spec §1 uses novel classes in the dynamics experiments. The
data-dependence sweeps override it with p_C = 0 (spec §1); with p_C = 0 this setting shows no jump
in 150k steps (docs/classification.md, "The paper profile")."""


def transition_level(data: DataConfig) -> float:
    """IC accuracy halfway between the plateau B/N (1/N for B = 0) and 1."""
    return (max(data.B, 1) / data.N + 1) / 2


def midpoint(t, v):
    """First time ``v`` reaches halfway between its first and last value, rising or falling (None if never)."""
    v = np.asarray(v, float)
    sign = 1.0 if v[-1] >= v[0] else -1.0
    return crossing(np.asarray(t, float), sign * v, sign * (v[0] + v[-1]) / 2)


def crossing(steps, values, level):
    """First step at which ``values`` reaches ``level`` (None if never)."""
    idx = np.nonzero(np.asarray(values) >= level)[0]
    return float(steps[idx[0]]) if len(idx) else None


def analyse(h: dict, level: float) -> dict:
    """Transition step = first evaluation where IC accuracy reaches ``level`` (:func:`transition_level`).

    The plateau level is the IC accuracy at 3/4 of the transition step. Each progress measure's own
    transition is its :func:`midpoint`.
    """
    s = h["step"]
    t_ic = crossing(s, h["acc_ic"], level)
    out = {"transition_step": t_ic, "final_acc_ic": float(h["acc_ic"][-1]), "final_acc_iw": float(h["acc_iw"][-1]),
           "final_acc_ic2": float(h["acc_ic2"][-1])}
    if t_ic is not None:  # the plateau is read at 3/4 of the transition time (the jump lasts ≈ 1/5 of it)
        i = int(np.argmin(np.abs(s - 0.75 * t_ic)))
        out["plateau_step"], out["plateau_acc_ic"] = float(s[i]), float(h["acc_ic"][i])
    for k in ("ILA1", "TILA2", "TLA2", "CLA"):
        out[f"{k}_midpoint_step"] = midpoint(s, h[k])
    return out


def _train_seed(job):
    """One seed of :func:`run_curves` (module-level: runs in worker processes)."""
    cfg, seed, progress = job
    _, h, maps = train(cfg.data(), cfg.optimiser(seed), checkpoint=_checkpoint(cfg, f"curves-seed{seed}"),
                       progress=progress, model=cfg.network())
    return h, maps


def run_curves(cfg: CurvesConfig, progress: bool = False) -> Outcome:
    level = transition_level(cfg.data())
    plateau = 2 * level - 1  # B/N (1/N for B = 0)
    arrays, per_seed, checks = {}, [], []
    # seeds run in parallel processes (simulations.parallel); one at a time when showing progress bars
    outs = run_all(_train_seed, [(cfg, s, progress) for s in cfg.seeds], n_jobs=1 if progress else None)
    for seed, (h, maps) in zip(cfg.seeds, outs):
        a = analyse(h, level)
        per_seed.append({"seed": seed, **a})
        for k, v in h.items():
            arrays[f"seed{seed}/{k}"] = v
        arrays[f"seed{seed}/attn1"] = maps["attn1"]
        arrays[f"seed{seed}/attn2"] = maps["attn2"]
        arrays[f"seed{seed}/context_match"] = maps["context_match"]
    se = np.sqrt(plateau * (1 - plateau) / cfg.eval_size)
    interval = cfg.eval_every
    for r in per_seed:
        s = r["seed"]
        checks.append(Check(f"seed {s}: final IC accuracy ≥ 0.9", 0.9, r["final_acc_ic"],
                            max(0.0, 0.9 - r["final_acc_ic"]), 0.0, "the issue's criterion"))
        if r["transition_step"] is None or cfg.model != "network":
            continue
        pre = r["plateau_acc_ic"]
        checks.append(Check(f"seed {s}: IC accuracy on the plateau ≈ B/N = {plateau:.3g}", plateau, pre,
                            abs(pre - plateau), 4 * se + 0.05,
                            f"4 binomial s.e. at {cfg.eval_size} sequences + 0.05: the slow phase still climbs "
                            "from 1/L towards B/N (read at 3/4 of the transition step)"))
        for k in ("ILA1", "TILA2"):
            t = r[f"{k}_midpoint_step"]
            checks.append(Check(f"seed {s}: {k} jumps with IC accuracy (steps)", r["transition_step"],
                                np.nan if t is None else t,
                                np.inf if t is None else abs(t - r["transition_step"]), 3 * interval,
                                "midpoint crossings within 3 evaluation intervals"))
        t = r["CLA_midpoint_step"]
        checks.append(Check(f"seed {s}: CLA rises before the jump (steps ahead)", 0.0,
                            np.nan if t is None else r["transition_step"] - t,
                            np.inf if t is None else max(0.0, t - r["transition_step"]), 0.0,
                            "CLA's midpoint crossing precedes the IC transition"))
    return Outcome({"plateau_B_over_N": plateau, "one_over_L": 1 / cfg.L, "seeds": per_seed,
                    "checks": [c.as_dict() for c in checks]}, arrays)


def plot_curves(run, fig_dir):
    m, a = run.metrics, run.arrays
    seeds = [r["seed"] for r in m["seeds"]]
    figs = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, s in enumerate(seeds):
        st = a[f"seed{s}/step"]
        for k, ls in (("acc_ic", "-"), ("acc_ic2", "--"), ("acc_iw", ":"), ("acc_train", "-.")):
            axes[0].plot(st, a[f"seed{s}/{k}"], ls, color=f"C{i}", lw=1.2,
                         label=f"{k[4:].upper()}" if i == 0 else None)
        axes[1].plot(st, a[f"seed{s}/loss"], color=f"C{i}", label=f"seed {s}")
    axes[0].axhline(m["plateau_B_over_N"], color="gray", lw=0.8, ls="--")
    axes[0].axhline(m["one_over_L"], color="gray", lw=0.8, ls=":")
    axes[0].set_xlabel("step"); axes[0].set_ylabel("accuracy (colours: seeds)"); axes[0].legend(fontsize=7)
    axes[0].set_title("IC (novel classes), IC2 (swapped labels), IW, train; grey: B/N and 1/L", fontsize=8)
    axes[1].set_yscale("log"); axes[1].set_xlabel("step"); axes[1].set_ylabel("training loss"); axes[1].legend(fontsize=7)
    figs.append(save(fig, fig_dir / "training_curves.png"))

    s0 = seeds[0]
    r0 = m["seeds"][0]
    st = a[f"seed{s0}/step"]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for k in ("ILA1", "TILA2", "TLA2", "CLA"):
        ax.plot(st, a[f"seed{s0}/{k}"], label=k)
    ax.plot(st, a[f"seed{s0}/acc_ic"], "k--", label="IC accuracy")
    if r0["transition_step"] is not None:
        ax.axvline(r0["transition_step"], color="gray", ls=":", label="transition")
    ax.set_xlabel("step"); ax.set_title(f"Progress measures (IC test set), seed {s0}", fontsize=9)
    ax.legend(fontsize=7)
    figs.append(save(fig, fig_dir / "progress_measures.png"))

    t = r0["transition_step"]
    before = int(np.argmin(np.abs(st - r0.get("plateau_step", st[len(st) // 2])))) if t is not None else len(st) // 2
    A1, A2, match = a[f"seed{s0}/attn1"], a[f"seed{s0}/attn2"], a[f"seed{s0}/context_match"]
    T = A1.shape[1]
    names = [("x" if i % 2 == 0 else "ℓ") + str(i // 2 + 1) for i in range(T - 1)] + ["q"]
    fig, axes = plt.subplots(2, 2, figsize=(9, 8), gridspec_kw={"height_ratios": [4, 2]})
    for j, (idx, title) in enumerate(((before, f"plateau (step {int(st[before])})"), (-1, f"after (step {int(st[-1])})"))):
        axes[0, j].imshow(A1[idx], cmap="viridis", vmin=0, vmax=1)
        axes[0, j].set_title(f"layer 1, IC-set mean, {title}", fontsize=9)
        axes[0, j].set_xticks(range(T), names, fontsize=7); axes[0, j].set_yticks(range(T), names, fontsize=7)
        axes[1, j].imshow(A2[idx], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        rows, items = np.nonzero(match)
        axes[1, j].plot(2 * items + 1, rows, "r+", ms=8)
        axes[1, j].set_title("layer 2, target's row, 8 IC sequences (+: label after a matching item)", fontsize=8)
        axes[1, j].set_xticks(range(T), names, fontsize=7); axes[1, j].set_yticks([])
    figs.append(save(fig, fig_dir / "attention_maps.png"))
    return figs


register(Experiment("icl-training-curves",
                    "Classification: abrupt ICL; accuracies, progress measures and attention maps over seeds",
                    CurvesConfig,
                    {"quick": {}, "paper": {**PAPER, "checkpoint_dir": "results/checkpoints/icl-training-curves-paper"}},
                    run_curves, plot_curves))


register(Experiment("ih-minimal-model",
                    "Minimal induction-head model (scalar β₁, α, β₂ + classifier) on the quick setting's data",
                    CurvesConfig, {"quick": {"model": "minimal"},
                                   "paper": {**PAPER, "model": "minimal",
                                             "checkpoint_dir": "results/checkpoints/ih-minimal-model-paper"}},
                    run_curves, plot_curves))
