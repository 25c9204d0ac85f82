"""The transition side by side: nested-logit theory, minimal model and network at the same N and L
(docs/induction_head.md §4–§6).

One seed of each model at the config's setting, trained to ``steps``, and the idealised nested-logit flow
for the same N and L (with its finite-data version at the same settings for the transition time). Time is
put on a common scale by dividing by each one's own transition time (IC accuracy, or the right-label
probability, reaching (B/N + 1)/2). The theory's analogues of the progress measures
(:func:`theory.induction_head.progress_analogues`: CLA ↔ ξ, TILA2 ↔ α, ILA1 ↔ β₁) are set beside the
networks' measured ones.
"""

from __future__ import annotations

import numpy as np

from theory.induction_head import (
    growth_order,
    integrate_finite_nested_logits,
    integrate_nested_logits,
    progress_analogues,
)

from ...config import config, require
from ...induction_head import (
    MODELS,
    DataConfig,
    TrainConfig,
    crossing,
    midpoint,
    theory_contexts,
    transition_level,
)
from ...plotting import plt, save, style_axes
from ..jobs import Job
from ..kit import Check, Experiment, Outcome
from .settings import CHEAP_DATA, MEDIUM_TRAIN, PAPER, QUICK_DATA, QUICK_TRAIN

MEASURES = ("CLA", "TILA2", "ILA1")


@config
class SideBySideConfig:
    """One run of each model and the theory at the same setting.

    Attributes
    ----------
    data : DataConfig
        The setting (B >= 1: the transition needs bursty contexts).
    train : TrainConfig
        The optimiser; ``train.seed`` is the seed of both runs.
    theory_contexts : int
        Contexts sampled for the finite-data flow.
    """

    data: DataConfig = QUICK_DATA
    train: TrainConfig = QUICK_TRAIN
    theory_contexts: int = 1000

    def __post_init__(self):
        require(self.theory_contexts >= 10, "theory_contexts", "be >= 10")
        require(self.data.B >= 1, "data.B", "be >= 1 (the transition needs bursty contexts)")


def plan_side_by_side(cfg: SideBySideConfig) -> list[Job]:
    return [Job(m, cfg.data, cfg.train) for m in MODELS]


def finish_side_by_side(cfg: SideBySideConfig, results, ctx) -> Outcome:
    data = cfg.data
    N, L = data.N, data.L
    level = transition_level(data)
    hist = {m: r.history for m, r in zip(MODELS, results, strict=True)}
    t_end = integrate_nested_logits(N, L, 0.0, 1e4, level=level).t[-1]  # convergence, P(right) ≥ 0.99
    ideal = integrate_nested_logits(N, L, 0.0, 1e4, level=level, t_eval=np.linspace(0, t_end, 2001))
    finite = integrate_finite_nested_logits(theory_contexts(data, cfg.theory_contexts), 0.0, 1e4, level=level)
    analog = progress_analogues(ideal, N, L)
    arrays = {
        "theory/t": ideal.t,
        "theory/p_right": ideal.p_right,
        "finite/t": finite.t,
        "finite/p_right": finite.p_right,
        **{f"theory/{k}": v for k, v in analog.items()},
        **{f"theory/{n}": ideal.param(n) for n in ideal.names},
    }
    rows = {
        "theory": {
            "transition": ideal.t_transition,
            "finite_transition": finite.t_transition,
            "onsets": dict(growth_order(ideal)),
            **{f"{k}_midpoint": midpoint(ideal.t, analog[k]) for k in MEASURES},
        }
    }
    for m, h in hist.items():
        for k in ("step", "acc_ic", "acc_iw", *MEASURES):
            arrays[f"{m}/{k}"] = h[k]
        rows[m] = {
            "transition": crossing(h["step"], h["acc_ic"], level),
            **{f"{k}_midpoint": midpoint(h["step"], h[k]) for k in MEASURES},
        }
    onsets = rows["theory"]["onsets"]
    order = sorted(onsets, key=lambda n: np.inf if onsets[n] is None else onsets[n])
    checks = [
        Check.holds(
            f"theory at N = {N}, L = {L}: onsets ξ → α → β₁",
            order == ["xi", "alpha", "beta1"],
            "first move of 0.1 from the origin",
            ", ".join(f"{n} {onsets[n]:.2f}" for n in order),
        )
    ]
    for who, r in rows.items():
        t, c = r["transition"], r["CLA_midpoint"]
        if who == "minimal" or t is None:
            continue
        checks.append(
            Check.at_most(
                f"{who}: CLA (↔ ξ) rises before the transition (its midpoint)",
                c,
                t,
                "CLA's midpoint precedes the transition (theory: ξ grows first)",
            )
        )
    return Outcome(
        {"level": level, "N": N, "L": L, "B": data.B, "lr": cfg.train.lr, "rows": rows}, arrays, tuple(checks)
    )


def _rescalable(t) -> bool:
    """A transition time the panels can divide by: one was found (``is not None``: step 0 is a time) and it
    is positive."""
    return t is not None and t > 0


def _why_not_drawn(t) -> str:
    return "(no transition)" if t is None else "(transition at step 0: no time to rescale by)"


def plot_side_by_side(run, fig_dir):
    m, a = run.metrics, run.arrays
    rows, lr = m["rows"], m["lr"]
    t_th = rows["theory"]["transition"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(a["theory/t"], a["theory/p_right"], "k-", label="theory: P(right), flow time")
    ax.plot(a["finite/t"], a["finite/p_right"], "k--", label="theory, finite data")
    for i, mod in enumerate(MODELS):
        ax.plot(
            lr * a[f"{mod}/step"], a[f"{mod}/acc_ic"], color=f"C{i}", label=f"simulation: {mod} IC, lr × step"
        )
    ax.set_xscale("log")
    ax.axhline(m["B"] / m["N"], color="gray", ls="--", lw=0.8)
    ax.axhline(1 / m["L"], color="gray", ls=":", lw=0.8)
    style_axes(
        ax,
        "time (flow time; lr × steps for the models)",
        "P(right) / IC accuracy",
        "on one time axis: the models take longer than the flow",
    )
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(a["theory/t"] / t_th, a["theory/p_right"], "k-", label="theory")
    t_fin = rows["theory"]["finite_transition"]
    if _rescalable(t_fin):
        ax.plot(a["finite/t"] / t_fin, a["finite/p_right"], "k--", label="theory, finite data")
    else:
        ax.plot([], [], "k--", label=f"theory, finite data {_why_not_drawn(t_fin)}")
    for i, mod in enumerate(MODELS):
        t = rows[mod]["transition"]
        if _rescalable(t):
            ax.plot(a[f"{mod}/step"] / t, a[f"{mod}/acc_ic"], color=f"C{i}", label=f"simulation: {mod}")
        else:
            ax.plot([], [], color=f"C{i}", label=f"simulation: {mod} {_why_not_drawn(t)}")
    ax.axhline(m["B"] / m["N"], color="gray", ls="--", lw=0.8)
    ax.set_xlim(0, 2)
    style_axes(
        ax,
        "time / own transition time",
        "P(right) / IC accuracy",
        f"N = {m['N']}, L = {m['L']}: the shape of plateau and cliff",
    )
    ax.legend(fontsize=7)
    ax = axes[2]
    for k, ls in zip(MEASURES, ("-", "--", ":"), strict=True):
        ax.plot(a["theory/t"] / t_th, a[f"theory/{k}"], "k", ls=ls, label=f"theory {k}")
        for i, mod in enumerate(MODELS):
            t = rows[mod]["transition"]
            if _rescalable(t):
                sim = f"simulation: {mod} {k}"
                ax.plot(a[f"{mod}/step"] / t, a[f"{mod}/{k}"], color=f"C{i}", ls=ls, label=sim)
    for i, mod in enumerate(MODELS):
        t = rows[mod]["transition"]
        if not _rescalable(t):
            ax.plot([], [], color=f"C{i}", label=f"simulation: {mod} {_why_not_drawn(t)}")
    ax.set_xlim(0, 2)
    style_axes(ax, "time / own transition time", "progress measure", "CLA ↔ ξ, TILA2 ↔ α, ILA1 ↔ β₁")
    ax.legend(fontsize=6, ncol=3)
    return save(fig, fig_dir, "side_by_side")


SIDE_BY_SIDE = Experiment(
    "induction-head-side-by-side",
    "the transition in theory, minimal model and network at the same N, L",
    "The nested-logit flow reproduces the networks' plateau, cliff and the order in which the progress "
    "measures move (Reddy, 2023, §5).",
    SideBySideConfig,
    {"quick": {}, "medium": {"data": CHEAP_DATA, "train": MEDIUM_TRAIN}, "paper": PAPER},
    None,
    plot_side_by_side,
    plan_side_by_side,
    finish_side_by_side,
)
