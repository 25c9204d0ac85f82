"""Abrupt in-context learning (docs/induction_head.md §4): accuracies, progress measures and attention maps
over seeds, for the network and for the minimal induction-head model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...config import config, require, require_seed_zero, require_seeds
from ...induction_head import MODELS, DataConfig, TrainConfig, icl_learned, plateau, summarise
from ...plotting import OKABE_ITO, band, plt, save, style_axes
from ..jobs import Job
from ..kit import Check, Experiment, Outcome
from .settings import CHEAP_DATA, MEDIUM_TRAIN, PAPER, QUICK_DATA, QUICK_TRAIN, SIX_SEEDS


@config
class CurvesConfig:
    """Training curves over seeds.

    Attributes
    ----------
    data : DataConfig
        The data (every field settable, e.g. ``--set K=256`` or ``--set data.B=2``).
    train : TrainConfig
        The optimiser and evaluation (``train.seed`` stays 0: seeds come from ``seeds``).
    seeds : list of int
        One run per seed.
    model : str
        "network" (the two-layer attention network) or "minimal" (the minimal induction-head model).
    """

    data: DataConfig = QUICK_DATA
    train: TrainConfig = QUICK_TRAIN
    seeds: tuple[int, ...] = (0, 1, 2)
    model: str = "network"

    def __post_init__(self):
        require_seeds(self.seeds)
        require(self.model in MODELS, "model", f"be one of {', '.join(MODELS)}")
        require_seed_zero(self.train)


def curve_checks(cfg: CurvesConfig, per_seed: list[dict], histories: dict) -> list[Check]:
    """Per seed: ICL learned by an induction head, the plateau at B/N, the heads jumping with IC, CLA
    first."""
    flat = plateau(cfg.data)
    se = np.sqrt(flat * (1 - flat) / cfg.train.eval_size)
    interval = cfg.train.eval_every
    checks = []
    for r in per_seed:
        s, h = r["seed"], histories[r["seed"]]
        checks.append(
            Check.finding(
                f"seed {s}: IC accuracy ends near 1 (≥ 0.9)",
                r["final_acc_ic"] >= 0.9,
                "the paper's end state; a finding, since a model can learn ICL by its induction head and "
                "still end lower (the minimal model at p_C = 0: docs §5)",
                f"final IC {r['final_acc_ic']:.3f}",
            )
        )
        checks.append(
            Check.holds(
                f"seed {s}: IC accuracy crosses the transition level (B/N + 1)/2",
                r["transition_step"] is not None,
                "the abrupt transition happens within the run",
                f"transition step {r['transition_step']}",
            )
        )
        if cfg.model == "network":
            checks.append(
                Check.holds(
                    f"seed {s}: ICL by an induction head (IC, IC2 > B/N + 0.2; ILA1, TILA2 up by > 0.2)",
                    icl_learned(h, cfg.data),
                    "a network on the B/N plateau, or one that learned labels in weights, fails this",
                    f"IC {h['acc_ic'][-1]:.2f}, IC2 {h['acc_ic2'][-1]:.2f}, "
                    f"ILA1 {h['ILA1'][0]:.2f}→{h['ILA1'][-1]:.2f}, "
                    f"TILA2 {h['TILA2'][0]:.2f}→{h['TILA2'][-1]:.2f}",
                )
            )
        if r["transition_step"] is None or cfg.model != "network":
            continue
        checks.append(
            Check.value(
                f"seed {s}: IC accuracy on the plateau ≈ B/N = {flat:.3g}",
                flat,
                r["plateau_acc_ic"],
                4 * se + 0.05,
                f"4 binomial s.e. at {cfg.train.eval_size} sequences + 0.05: the slow phase still "
                "climbs from 1/L towards B/N (read at 3/4 of the transition step)",
            )
        )
        for k in ("ILA1", "TILA2"):
            checks.append(
                Check.value(
                    f"seed {s}: {k} jumps with IC accuracy (steps)",
                    r["transition_step"],
                    r[f"{k}_midpoint_step"],
                    3 * interval,
                    "midpoint crossings within 3 evaluation intervals",
                )
            )
        t = r["CLA_midpoint_step"]
        checks.append(
            Check.at_most(
                f"seed {s}: CLA rises before the jump (its midpoint step)",
                t,
                r["transition_step"],
                "CLA's midpoint crossing precedes the IC transition",
            )
        )
    return checks


def plan_curves(cfg: CurvesConfig) -> list[Job]:
    return [Job(cfg.model, cfg.data, replace(cfg.train, seed=s)) for s in cfg.seeds]


def finish_curves(cfg: CurvesConfig, results, ctx) -> Outcome:
    arrays, per_seed, histories = {}, [], {}
    for seed, res in zip(cfg.seeds, results, strict=True):
        per_seed.append({"seed": seed, **summarise(res.history, cfg.data)})
        histories[seed] = res.history
        for k, v in res.history.items():
            arrays[f"seed{seed}/{k}"] = v
        for k, v in res.maps.items():
            arrays[f"seed{seed}/{k}"] = v
    summary = {
        "plateau_B_over_N": plateau(cfg.data),
        "one_over_L": 1 / cfg.data.L,
        "model": cfg.model,
        "seeds": per_seed,
    }
    return Outcome(summary, arrays, tuple(curve_checks(cfg, per_seed, histories)))


def plot_curves(run, fig_dir):
    m, a = run.metrics, run.arrays
    seeds = [r["seed"] for r in m["seeds"]]
    figs = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    for i, (k, name) in enumerate(
        (
            ("acc_ic", "IC (novel classes)"),
            ("acc_ic2", "IC2 (swapped labels)"),
            ("acc_iw", "IW"),
            ("acc_train", "train"),
        )
    ):
        band(
            axes[0],
            [a[f"seed{s}/step"] for s in seeds],
            [a[f"seed{s}/{k}"] for s in seeds],
            OKABE_ITO[i],
            name,
        )
    band(
        axes[1],
        [a[f"seed{s}/step"] for s in seeds],
        [a[f"seed{s}/loss"] for s in seeds],
        OKABE_ITO[0],
        "training loss",
    )
    axes[0].axhline(m["plateau_B_over_N"], color="gray", lw=0.8, ls="--", label="theory: B/N plateau")
    axes[0].axhline(m["one_over_L"], color="gray", lw=0.8, ls=":", label="1/L (chance)")
    axes[0].plot([], [], color="gray", label=f"simulation: {m['model']} (mean line, band: range over seeds)")
    style_axes(
        axes[0], "SGD step", "accuracy", f"{m['model']}: accuracies, mean and range over seeds {seeds}"
    )
    axes[0].legend(fontsize=7)
    axes[1].set_yscale("log")
    style_axes(axes[1], "SGD step", "training loss (mean since the last evaluation)")
    axes[1].legend(fontsize=7)
    figs += save(fig, fig_dir, "training_curves")

    fig, ax = plt.subplots(figsize=(6.5, 3.9))
    for i, k in enumerate(("ILA1", "TILA2", "TLA2", "CLA")):
        band(ax, [a[f"seed{s}/step"] for s in seeds], [a[f"seed{s}/{k}"] for s in seeds], OKABE_ITO[i], k)
    band(
        ax,
        [a[f"seed{s}/step"] for s in seeds],
        [a[f"seed{s}/acc_ic"] for s in seeds],
        "k",
        "IC accuracy",
        ls="--",
    )
    style_axes(ax, "SGD step", "progress measure (IC test set)", f"Progress measures over seeds {seeds}")
    ax.legend(fontsize=7)
    figs += save(fig, fig_dir, "progress_measures")

    s0, r0 = seeds[0], m["seeds"][0]
    st = a[f"seed{s0}/step"]
    on_plateau = r0.get("plateau_step") is not None
    before = int(np.argmin(np.abs(st - r0["plateau_step"]))) if on_plateau else len(st) // 2
    when = "plateau" if on_plateau else "middle of training"  # a seed without a transition has no plateau
    A1, A2, match = a[f"seed{s0}/attn1"], a[f"seed{s0}/attn2"], a[f"seed{s0}/context_match"]
    T = A1.shape[1]
    names = [("x" if i % 2 == 0 else "ℓ") + str(i // 2 + 1) for i in range(T - 1)] + ["q"]
    fig, axes = plt.subplots(2, 2, figsize=(9, 8), gridspec_kw={"height_ratios": [4, 2]})
    for j, (idx, title) in enumerate(
        ((before, f"{when} (step {int(st[before])})"), (-1, f"end (step {int(st[-1])})"))
    ):
        axes[0, j].imshow(A1[idx], cmap="viridis", vmin=0, vmax=1)
        axes[0, j].set_title(f"layer 1, IC-set mean, seed {s0}\n{title}", fontsize=9)
        axes[0, j].set_xticks(range(T), names, fontsize=7)
        axes[0, j].set_yticks(range(T), names, fontsize=7)
        style_axes(axes[0, j], "key token (attended to)", "query token (attending)")
        axes[0, j].grid(False)
        axes[1, j].imshow(A2[idx], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        rows, items = np.nonzero(match)
        axes[1, j].plot(2 * items + 1, rows, "r+", ms=8)
        axes[1, j].set_title(
            "layer 2, target's row, 8 IC sequences (+: label after a matching item)", fontsize=8
        )
        axes[1, j].set_xticks(range(T), names, fontsize=7)
        axes[1, j].set_yticks([])
        style_axes(axes[1, j], "key token (attended to)", "IC sequence (row: query q)")
        axes[1, j].grid(False)
    figs += save(fig, fig_dir, "attention_maps")
    return figs


CURVES = Experiment(
    "induction-head-curves",
    "abrupt ICL in the network: accuracies, progress measures and attention maps over seeds",
    "In-context accuracy climbs slowly to ≈ B/N, then jumps to ≈ 1 as an induction head forms, with ILA1 and "
    "TILA2 jumping with it and CLA rising before (Reddy, 2023, Fig. 1–2).",
    CurvesConfig,
    {
        "quick": {},
        "medium": {"data": CHEAP_DATA, "train": replace(MEDIUM_TRAIN, steps=30000), "seeds": SIX_SEEDS},
        "paper": PAPER,
    },
    None,
    plot_curves,
    plan_curves,
    finish_curves,
)

MINIMAL = Experiment(
    "induction-head-minimal",
    "the minimal induction-head model (scalar β₁, α, β₂ + classifier) over seeds",
    "A model with only the induction head's three scalar strengths and the classifier shows the same abrupt "
    "transition (Reddy, 2023, §4).",
    CurvesConfig,
    {
        "quick": {"model": "minimal"},
        "medium": {
            "data": CHEAP_DATA,
            "train": replace(MEDIUM_TRAIN, steps=30000),
            "seeds": SIX_SEEDS,
            "model": "minimal",
        },
        "paper": {**PAPER, "model": "minimal"},
    },
    None,
    plot_curves,
    plan_curves,
    finish_curves,
)
