"""Theory of the transition (spec induction_head §6): the three-nested-logit gradient flow, no network."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.induction_head import (growth_order, integrate_nested_logits, model, nested_logit_loss,
                                   origin_is_critical_iff_L_equals_N)

from ..config import require
from ..plotting import plt, save
from ..registry import Experiment, Outcome, register
from ..results import Check
from ..seeding import stream_rng


@dataclass(frozen=True)
class NestedLogitsConfig:
    """Transition time over ``Ns`` (at L = ``L``) and over ``Ls`` (at N = ``N``) for each initial scale
    in ``inits`` (β₁ = α = ξ = init), plus the headline trajectory at (N, L)."""

    N: int = 8
    L: int = 32
    Ns: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16)
    Ls: tuple[int, ...] = (9, 10, 12, 16, 24, 32, 64, 128)
    inits: tuple[float, ...] = (0.0, 0.1, 0.3)
    seed: int = 0

    def __post_init__(self):
        require(self.N >= 2, "N", "be >= 2")
        require(self.L >= self.N, "L", "be >= N")
        require(min(self.Ns) >= 2 and max(self.Ns) <= self.L, "Ns", "lie in [2, L]")
        require(min(self.Ls) >= self.N, "Ls", "be >= N")


def run_nested_logits(cfg: NestedLogitsConfig, progress: bool = False) -> Outcome:
    checks, arrays = [], {}
    rng = stream_rng(cfg.seed, "nested-logits")
    m = model(3)
    worst = 0.0
    for _ in range(20):  # sympy gradient against central differences at random points
        y = rng.normal(size=3) * 2
        g = np.array(m["f_grad"](*y, cfg.N, cfg.L), float)
        for k in range(3):
            e = np.zeros(3)
            e[k] = 1e-6
            num = (m["f_loss"](*(y + e), cfg.N, cfg.L) - m["f_loss"](*(y - e), cfg.N, cfg.L)) / 2e-6
            worst = max(worst, abs(num - g[k]) / max(abs(g[k]), 1e-3))
    checks.append(Check("sympy gradient = central differences (20 random points)", 0.0, worst, worst, 1e-6,
                        "h = 1e-6: rounding ≈ ε|ℒ|/h ≈ 1e-9 absolute, ≤ 1e-6 relative to gradients ≥ 1e-3 (the floor used)"))
    g0 = np.array(m["f_grad"](0.0, 0.0, 0.0, cfg.N, cfg.L), float)
    want = -(1 / cfg.N - 1 / cfg.L)
    checks.append(Check(f"∂ℒ/∂ξ at the origin = −(1/N − 1/L) (N={cfg.N}, L={cfg.L})", want, g0[2],
                        abs(g0[2] - want), 1e-15, "float64 rounding"))
    checks.append(Check("∂ℒ/∂α, ∂ℒ/∂β₁ vanish at the origin", 0.0, float(np.abs(g0[:2]).max()),
                        float(np.abs(g0[:2]).max()), 1e-15, "float64 rounding"))
    ok = origin_is_critical_iff_L_equals_N()
    checks.append(Check("sympy: the origin is critical iff L = N", 1.0, float(ok), 0.0 if ok else 1.0, 0.0,
                        "exact symbolic identity"))
    stall = integrate_nested_logits(cfg.N, cfg.N, 0.0, t_max=1e4)
    moved = float(np.abs(stall.params[-1]).max())
    checks.append(Check(f"L = N stalls from the symmetric start (N = L = {cfg.N}, t = 1e4)", 0.0, moved, moved,
                        1e-12, "the origin is a fixed point; only rounding can move it"))

    by_depth = {d: integrate_nested_logits(cfg.N, cfg.L, 0.0, t_max=1e5, depth=d) for d in (1, 2, 3)}
    tr = by_depth[3]
    order = growth_order(tr)
    ok = [n for n, _ in order] == ["xi", "alpha", "beta1"]
    checks.append(Check("intrinsic curriculum: ξ moves before α before β₁ (onset at 0.1)", 1.0, float(ok),
                        0.0 if ok else 1.0, 0.0, "ordering of onset times"))
    depth_t = [by_depth[d].t_transition for d in (1, 2, 3)]
    ok = depth_t[0] < depth_t[1] < depth_t[2]
    checks.append(Check("the plateau lengthens with nesting depth 1 < 2 < 3", 1.0, float(ok), 0.0 if ok else 1.0,
                        0.0, "ordering of transition times"))
    arrays.update({"traj/t": tr.t, "traj/params": tr.params, "traj/p_right": tr.p_right})
    for d, t in by_depth.items():
        arrays[f"depth{d}/t"], arrays[f"depth{d}/p_right"] = t.t, t.p_right

    t_N = np.array([[_t(integrate_nested_logits(N, cfg.L, i, t_max=1e5)) for N in cfg.Ns] for i in cfg.inits])
    t_L = np.array([[_t(integrate_nested_logits(cfg.N, L, i, t_max=1e5)) for L in cfg.Ls] for i in cfg.inits])
    arrays.update({"Ns": np.array(cfg.Ns), "Ls": np.array(cfg.Ls), "inits": np.array(cfg.inits),
                   "t_vs_N": t_N, "t_vs_L": t_L})
    A, X = np.meshgrid(np.linspace(-1, 8, 181), np.linspace(-1, 12, 181))
    arrays.update({"land/alpha": A, "land/xi": X, "land/loss": nested_logit_loss(6.0, A, X, cfg.N, cfg.L)})
    metrics = {"N": cfg.N, "L": cfg.L, "transition_time": tr.t_transition, "onsets": order,
               "depth_transition_times": depth_t, "checks": [c.as_dict() for c in checks]}
    return Outcome(metrics, arrays)


def _t(tr):
    return np.nan if tr.t_transition is None else tr.t_transition


def plot_nested_logits(run, fig_dir):
    a, m = run.arrays, run.metrics
    figs = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    t, P = a["traj/t"], a["traj/params"]
    for k, name in enumerate(("β₁", "α", "ξ")):
        axes[0].plot(t, P[:, k], label=name)
    axes[0].plot(t, 10 * a["traj/p_right"], "k--", label="10 × P(right label)")
    axes[0].axvline(m["transition_time"], color="gray", ls=":")
    axes[0].set_xlim(0, 3 * m["transition_time"]); axes[0].set_xlabel("gradient-flow time")
    axes[0].set_title(f"three nested logits, N = {m['N']}, L = {m['L']}, from the origin", fontsize=9)
    axes[0].legend(fontsize=7)
    for d in (1, 2, 3):
        axes[1].plot(a[f"depth{d}/t"], a[f"depth{d}/p_right"], label=f"depth {d}")
    axes[1].axhline(1 / m["N"], color="gray", ls="--", lw=0.8)
    axes[1].set_xlim(0, 3 * m["transition_time"]); axes[1].set_xlabel("gradient-flow time")
    axes[1].set_ylabel("P(right label)"); axes[1].legend(fontsize=7)
    axes[1].set_title("the plateau comes from the nesting", fontsize=9)
    figs.append(save(fig, fig_dir / "nested_logits_trajectory.png"))

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    cs = axes[0].contourf(a["land/alpha"], a["land/xi"], a["land/loss"], levels=30, cmap="viridis")
    fig.colorbar(cs, ax=axes[0])
    axes[0].plot(P[:, 1], P[:, 2], "r-", lw=1.5, label="flow from the origin (projected)")
    axes[0].set_xlim(-1, 8); axes[0].set_ylim(-1, 12)
    axes[0].set_xlabel("α"); axes[0].set_ylabel("ξ"); axes[0].legend(fontsize=7)
    axes[0].set_title("loss at β₁ = 6: the cliff", fontsize=9)
    for i, init in enumerate(a["inits"]):
        axes[1].plot(a["Ns"], a["t_vs_N"][i], "o-", label=f"init {init:g}")
        axes[2].plot(a["Ls"], a["t_vs_L"][i], "o-", label=f"init {init:g}")
    axes[1].set_xlabel(f"N (L = {m['L']})"); axes[1].set_ylabel("transition time (P(right) = 1/2)")
    axes[2].set_xlabel(f"L (N = {m['N']})"); axes[2].set_xscale("log")
    for ax in axes[1:]:
        ax.set_yscale("log"); ax.legend(fontsize=7)
    figs.append(save(fig, fig_dir / "nested_logits_landscape.png"))
    return figs


register(Experiment("ih-nested-logits", "Theory: three nested logits, curriculum, plateau, cliff, transition times",
                    NestedLogitsConfig, {"quick": {}, "paper": {"Ns": tuple(range(2, 33)),
                                                                 "Ls": (9, 10, 12, 16, 24, 32, 48, 64, 128, 256, 512)}},
                    run_nested_logits, plot_nested_logits))
