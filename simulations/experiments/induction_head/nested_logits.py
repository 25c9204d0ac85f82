"""Theory of the transition (docs/induction_head.md §6): the three-nested-logit gradient flow, no network."""

from __future__ import annotations

import numpy as np

from theory.induction_head import (
    growth_order,
    integrate_nested_logits,
    model,
    origin_is_critical_iff_L_equals_N,
    transition_times,
)

from ...config import config, require
from ...plotting import plt, save, style_axes
from ...seeding import stream_rng
from ..kit import Check, Experiment, Outcome


@config
class NestedLogitsConfig:
    """The nested-logit flow: the headline trajectory at (N, L) and transition times over N, L, init.

    Attributes
    ----------
    N : int
        Context labels of the headline trajectory.
    L : int
        Labels in all.
    Ns : list of int
        N values of the transition-time curve (at L).
    Ls : list of int
        L values of the curve (at N).
    inits : list of float
        Initial scales (β₁ = α = ξ = init).
    seed : int
        Seed of the random points of the gradient check.
    """

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


def run_nested_logits(cfg: NestedLogitsConfig, ctx) -> Outcome:
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
    checks.append(
        Check.value(
            "sympy gradient = central differences (20 random points; max relative)",
            0.0,
            worst,
            1e-6,
            "h = 1e-6: rounding ≈ ε|ℒ|/h ≈ 1e-9 absolute, ≤ 1e-6 relative to gradients "
            "≥ 1e-3 (the floor used)",
        )
    )
    g0 = np.array(m["f_grad"](0.0, 0.0, 0.0, cfg.N, cfg.L), float)
    checks.append(
        Check.value(
            f"∂ℒ/∂ξ at the origin = −(1/N − 1/L) (N={cfg.N}, L={cfg.L})",
            -(1 / cfg.N - 1 / cfg.L),
            g0[2],
            1e-15,
            "float64 rounding",
        )
    )
    checks.append(
        Check.value(
            "∂ℒ/∂α, ∂ℒ/∂β₁ vanish at the origin", 0.0, float(np.abs(g0[:2]).max()), 1e-15, "float64 rounding"
        )
    )
    checks.append(
        Check.holds(
            "sympy: the origin is critical iff L = N",
            origin_is_critical_iff_L_equals_N(),
            "exact symbolic identity",
        )
    )
    stall = integrate_nested_logits(cfg.N, cfg.N, 0.0, t_max=1e4)
    checks.append(
        Check.value(
            f"L = N stalls from the symmetric start (N = L = {cfg.N}, t = 1e4; max |θ|)",
            0.0,
            float(np.abs(stall.params[-1]).max()),
            1e-12,
            "the origin is a fixed point; only rounding can move it",
        )
    )

    by_depth = {d: integrate_nested_logits(cfg.N, cfg.L, 0.0, t_max=1e5, depth=d) for d in (1, 2, 3)}
    frozen = integrate_nested_logits(cfg.N, cfg.L, 0.0, t_max=1e5, frozen=("beta1",))
    tr = by_depth[3]
    order = growth_order(tr)
    checks.append(
        Check.holds(
            "intrinsic curriculum: ξ moves before α before β₁ (onset at 0.1)",
            [n for n, _ in order] == ["xi", "alpha", "beta1"],
            "ordering of onset times",
            ", ".join(f"{n} {t:.2f}" for n, t in order),
        )
    )
    depth_t = [by_depth[d].t_transition for d in (1, 2, 3)]
    closed = float(np.log(cfg.L - 1) + (cfg.L - 2) / (cfg.L - 1))
    checks.append(
        Check.relative(
            "depth 1: transition time = log(L−1) + (L−2)/(L−1) (closed form)",
            closed,
            depth_t[0],
            1e-6,
            "LSODA at rtol 1e-8; the event is located to the same accuracy",
        )
    )
    checks.append(
        Check.at_least(
            "nesting the attention inside the classifier makes the plateau: t(depth 2) / t(depth 1)",
            depth_t[1] / depth_t[0],
            2.0,
            "depth 1 has no plateau (ξ alone); a ratio ≥ 2 is a plateau as long as the climb",
        )
    )
    checks.append(
        Check.at_most(
            "at equal initial weight s = ½, learning β₁ shortens the plateau: t(depth 3) / "
            "t(depth 3, β₁ frozen)",
            depth_t[2] / frozen.t_transition,
            1.0,
            "depth 3 is slower than depth 2 only because s starts at ½, not 1: the third "
            "level does not lengthen the plateau",
        )
    )
    arrays.update(
        {
            "traj/t": tr.t,
            "traj/params": tr.params,
            "traj/p_right": tr.p_right,
            "frozen/t": frozen.t,
            "frozen/p_right": frozen.p_right,
        }
    )
    for d, t in by_depth.items():
        arrays[f"depth{d}/t"], arrays[f"depth{d}/p_right"] = t.t, t.p_right

    # one vectorised flow per grid (theory.induction_head.transition_times); rows: inits, columns: N or L
    inits = np.repeat(np.asarray(cfg.inits, float)[:, None, None], 3, axis=-1)
    t_N = transition_times(np.asarray(cfg.Ns)[None, :], cfg.L, inits, t_max=1e5)
    t_L = transition_times(cfg.N, np.asarray(cfg.Ls)[None, :], inits, t_max=1e5)
    arrays.update(
        {
            "Ns": np.array(cfg.Ns),
            "Ls": np.array(cfg.Ls),
            "inits": np.array(cfg.inits),
            "t_vs_N": t_N,
            "t_vs_L": t_L,
        }
    )
    # ℒ depends on β₁ and α only through a = α σ(β₁): the depth-2 loss at α = a is the exact landscape
    A, X = np.meshgrid(np.linspace(-1, 8, 181), np.linspace(-1, 12, 181))
    arrays.update({"land/a": A, "land/xi": X, "land/loss": model(2)["f_loss"](A, X, cfg.N, cfg.L)})
    summary = {
        "N": cfg.N,
        "L": cfg.L,
        "transition_time": tr.t_transition,
        "onsets": order,
        "depth_transition_times": depth_t,
        "depth3_beta1_frozen_time": frozen.t_transition,
        "depth1_closed_form": closed,
    }
    return Outcome(summary, arrays, tuple(checks))


def _mark_no_transition(ax, x, times):
    """Mark the settings whose flow never reaches P(right) = ½ (NaN times, which a line leaves out) with
    open triangles on the top edge, in their init's colour, and say so in the legend."""
    for i, row in enumerate(np.asarray(times, float)):
        missing = ~np.isfinite(row)
        if missing.any():
            ax.plot(
                np.asarray(x, float)[missing],
                np.full(missing.sum(), 1.0),
                "^",
                ms=7,
                mfc="none",
                color=f"C{i}",
                transform=ax.get_xaxis_transform(),  # x in data, y in axes units: the top edge
                clip_on=False,
            )
    if not np.isfinite(times).all():
        ax.plot([], [], "^", mfc="none", color="gray", label="no transition (at the top edge)")


def plot_nested_logits(run, fig_dir):
    a, m = run.arrays, run.metrics
    figs = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    t, P = a["traj/t"], a["traj/params"]
    for k, name in enumerate(("β₁", "α", "ξ")):
        axes[0].plot(t, P[:, k], label=f"theory: {name}")
    axes[0].plot(t, 10 * a["traj/p_right"], "k--", label="theory: 10 × P(right label)")
    axes[0].axvline(m["transition_time"], color="gray", ls=":")
    axes[0].set_xlim(0, 3 * m["transition_time"])
    style_axes(
        axes[0],
        "gradient-flow time",
        "parameter value",
        f"three nested logits, N = {m['N']}, L = {m['L']}, from the origin",
    )
    axes[0].legend(fontsize=7)
    for d in (1, 2, 3):
        axes[1].plot(a[f"depth{d}/t"], a[f"depth{d}/p_right"], label=f"depth {d}")
    axes[1].plot(a["frozen/t"], a["frozen/p_right"], "--", color="C2", label="depth 3, β₁ frozen (s = ½)")
    axes[1].axhline(1 / m["N"], color="gray", ls="--", lw=0.8)
    axes[1].set_xlim(0, 3 * m["transition_time"])
    style_axes(
        axes[1],
        "gradient-flow time",
        "P(right label)",
        "the plateau comes from nesting α in ξ; learning β₁ shortens it",
    )
    axes[1].legend(fontsize=7)
    figs += save(fig, fig_dir, "nested_logits_trajectory")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    cs = axes[0].contourf(a["land/a"], a["land/xi"], a["land/loss"], levels=30, cmap="viridis")
    fig.colorbar(cs, ax=axes[0], label="loss ℒ")
    eff = P[:, 1] / (1 + np.exp(-P[:, 0]))
    axes[0].plot(eff, P[:, 2], "r-", lw=1.5, label="theory: flow from the origin")
    axes[0].set_xlim(-1, 8)
    axes[0].set_ylim(-1, 12)
    style_axes(
        axes[0],
        "effective layer-2 weight a = α σ(β₁)",
        "ξ",
        "the loss depends on (β₁, α) only through a: the exact landscape",
    )
    axes[0].legend(fontsize=7)
    axes[0].grid(False)
    for i, init in enumerate(a["inits"]):
        axes[1].plot(a["Ns"], a["t_vs_N"][i], "o-", color=f"C{i}", label=f"init {init:g}")
        axes[2].plot(a["Ls"], a["t_vs_L"][i], "o-", color=f"C{i}", label=f"init {init:g}")
    ylabel = "theory: transition time (P(right) = ½), flow units"
    style_axes(axes[1], f"N (L = {m['L']})", ylabel)
    style_axes(axes[2], f"L (N = {m['N']})", ylabel)
    axes[2].set_xscale("log")
    for ax, x, times in ((axes[1], a["Ns"], a["t_vs_N"]), (axes[2], a["Ls"], a["t_vs_L"])):
        ax.set_yscale("log")
        _mark_no_transition(ax, x, times)
        ax.legend(fontsize=7)
    figs += save(fig, fig_dir, "nested_logits_landscape")
    return figs


NESTED_LOGITS = Experiment(
    "induction-head-nested-logits",
    "theory: three nested logits, curriculum, plateau, cliff, transition times",
    "Gradient flow on three nested logits learns ξ → α → β₁ with a long plateau and a cliff, and the "
    "symmetric start is a fixed point iff L = N (Reddy, 2023, §5).",
    NestedLogitsConfig,
    {"quick": {}, "paper": {"Ns": tuple(range(2, 33)), "Ls": (9, 10, 12, 16, 24, 32, 48, 64, 128, 256, 512)}},
    run_nested_logits,
    plot_nested_logits,
)
