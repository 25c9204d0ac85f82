"""The transition side by side: nested-logit theory, minimal model and network at the same N and L (spec §4–§6).

One seed of each model at the config's setting, trained to ``steps``, and the idealised nested-logit flow
for the same N and L (with its finite-data version at the same settings for the transition time). Time is
put on a common scale by dividing by each one's own transition time (IC accuracy, or the right-label
probability, reaching (B/N + 1)/2). The theory's analogues of the progress measures
(:func:`theory.induction_head.progress_analogues`: CLA ↔ ξ, TILA2 ↔ α, ILA1 ↔ β₁) are set beside the
networks' measured ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.induction_head import (growth_order, integrate_finite_nested_logits, integrate_nested_logits,
                                   progress_analogues)

from ..config import require
from ..parallel import run_all
from ..plotting import plt, save
from ..registry import Experiment, Outcome, register
from ..results import Check
from .exp_transition import MODELS, theory_contexts
from .experiments import PAPER, RunFields, _checkpoint, crossing, midpoint, model_for, transition_level
from .train import train

MEASURES = ("CLA", "TILA2", "ILA1")


@dataclass(frozen=True)
class SideBySideConfig(RunFields):
    """One ``seed`` per model at the given setting (fields as :class:`RunFields`); ``theory_contexts``
    contexts for the finite-data flow."""

    seed: int = 0
    theory_contexts: int = 1000

    def __post_init__(self):
        require(self.theory_contexts >= 10, "theory_contexts", "be >= 10")
        require(self.B >= 1, "B", "be >= 1 (the transition needs bursty contexts)")
        super().__post_init__()


def _train_model(job):
    cfg, model = job
    data = cfg.data()
    _, h, _ = train(data, cfg.optimiser(cfg.seed), model=model_for(model, data.P),
                    checkpoint=_checkpoint(cfg, f"side-{model}-seed{cfg.seed}"))
    return h


def run_side_by_side(cfg: SideBySideConfig, progress: bool = False) -> Outcome:
    data = cfg.data()
    level = transition_level(data)
    hist = dict(zip(MODELS, run_all(_train_model, [(cfg, m) for m in MODELS])))
    t_end = integrate_nested_logits(cfg.N, cfg.L, 0.0, 1e4, level=level).t[-1]  # convergence, P(right) ≥ 0.99
    ideal = integrate_nested_logits(cfg.N, cfg.L, 0.0, 1e4, level=level, t_eval=np.linspace(0, t_end, 2001))
    finite = integrate_finite_nested_logits(theory_contexts(data, cfg.theory_contexts), 0.0, 1e4, level=level)
    analog = progress_analogues(ideal, cfg.N, cfg.L)
    arrays = {"theory/t": ideal.t, "theory/p_right": ideal.p_right, "finite/t": finite.t,
              "finite/p_right": finite.p_right, **{f"theory/{k}": v for k, v in analog.items()},
              **{f"theory/{n}": ideal.param(n) for n in ideal.names}}
    rows = {"theory": {"transition": ideal.t_transition, "finite_transition": finite.t_transition,
                       "onsets": dict(growth_order(ideal)),
                       **{f"{k}_midpoint": midpoint(ideal.t, analog[k]) for k in MEASURES}}}
    for m, h in hist.items():
        for k in ("step", "acc_ic", "acc_iw", *MEASURES):
            arrays[f"{m}/{k}"] = h[k]
        rows[m] = {"transition": crossing(h["step"], h["acc_ic"], level),
                   **{f"{k}_midpoint": midpoint(h["step"], h[k]) for k in MEASURES}}
    onsets = rows["theory"]["onsets"]
    order = sorted(onsets, key=lambda n: np.inf if onsets[n] is None else onsets[n])
    checks = [Check(f"theory at N = {cfg.N}, L = {cfg.L}: onsets ξ → α → β₁ (1 = in this order)", 1.0,
                    float(order == ["xi", "alpha", "beta1"]), float(order != ["xi", "alpha", "beta1"]), 0.0,
                    f"first move of 0.1 from the origin: {', '.join(f'{n} {onsets[n]:.2f}' for n in order)}")]
    for who, r in rows.items():
        t, c = r["transition"], r["CLA_midpoint"]
        if who == "minimal" or t is None:
            continue
        checks.append(Check(f"{who}: CLA (↔ ξ) rises before the transition (relative lead)", 0.0,
                            np.nan if c is None else 1 - c / t, np.inf if c is None else max(0.0, c - t), 0.0,
                            "CLA's midpoint precedes the transition (theory: ξ grows first)"))
    return Outcome({"level": level, "N": cfg.N, "L": cfg.L, "B": cfg.B, "rows": rows,
                    "checks": [c.as_dict() for c in checks]}, arrays)


def plot_side_by_side(run, fig_dir):
    m, a = run.metrics, run.arrays
    rows = m["rows"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    t_th = rows["theory"]["transition"]
    axes[0].plot(a["theory/t"] / t_th, a["theory/p_right"], "k-", label="theory: P(right)")
    if rows["theory"]["finite_transition"]:
        axes[0].plot(a["finite/t"] / rows["theory"]["finite_transition"], a["finite/p_right"], "k--",
                     label="finite-data theory")
    for i, mod in enumerate(MODELS):
        t = rows[mod]["transition"]
        if t:
            axes[0].plot(a[f"{mod}/step"] / t, a[f"{mod}/acc_ic"], color=f"C{i}", label=f"{mod}: IC accuracy")
    axes[0].axhline(m["B"] / m["N"], color="gray", ls="--", lw=0.8)
    axes[0].axhline(1 / m["L"], color="gray", ls=":", lw=0.8)
    axes[0].set_xlim(0, 2); axes[0].set_xlabel("time / own transition time")
    axes[0].set_title(f"N = {m['N']}, L = {m['L']}: plateau (grey: B/N, 1/L) and cliff", fontsize=9)
    axes[0].legend(fontsize=7)
    for n, ls in zip(("xi", "alpha", "beta1"), ("-", "--", ":")):
        v = a[f"theory/{n}"]
        axes[1].plot(a["theory/t"] / t_th, v / np.max(np.abs(v)), "k", ls=ls, label=n)
    axes[1].set_xlim(0, 2); axes[1].set_xlabel("time / transition time")
    axes[1].set_title("theory: ξ → α → β₁ (each / its max)", fontsize=9); axes[1].legend(fontsize=7)
    for k, ls in zip(MEASURES, ("-", "--", ":")):
        axes[2].plot(a["theory/t"] / t_th, a[f"theory/{k}"], "k", ls=ls, label=f"theory {k}")
        for i, mod in enumerate(MODELS):
            t = rows[mod]["transition"]
            if t:
                axes[2].plot(a[f"{mod}/step"] / t, a[f"{mod}/{k}"], color=f"C{i}", ls=ls, label=f"{mod} {k}")
    axes[2].set_xlim(0, 2); axes[2].set_xlabel("time / own transition time")
    axes[2].set_title("progress measures: CLA ↔ ξ, TILA2 ↔ α, ILA1 ↔ β₁", fontsize=9)
    axes[2].legend(fontsize=6, ncol=3)
    return [save(fig, fig_dir / "side_by_side.png")]


register(Experiment("ih-side-by-side",
                    "The transition in theory, minimal model and network at the same N, L: plateau, cliff, curriculum",
                    SideBySideConfig,
                    {"quick": {}, "paper": {**PAPER, "checkpoint_dir": "results/checkpoints/ih-side-by-side-paper"}},
                    run_side_by_side, plot_side_by_side))
