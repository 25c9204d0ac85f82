"""One figure style for the package, and plotting functions for its result types.

Style: the Okabe–Ito colour-blind-safe palette as the colour cycle, labelled axes, theory drawn as black or
solid lines and simulation as markers or coloured lines, seeds as a band (mean ± spread) with the seeds
themselves thin. Figures are saved as PNG and SVG, and closed (matplotlib picks a non-interactive backend
by itself where there is no display). The ``plot_*`` functions draw one result on a given
matplotlib ``Axes`` and return it, for use from Python.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler

from .storage import write_atomic

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
"""Colour-blind-safe palette (Okabe & Ito, 2008): blue, orange, green, vermillion, purple, sky, yellow,
black."""

plt.rcParams.update(
    {
        "axes.prop_cycle": cycler(color=OKABE_ITO),
        "axes.grid": True,
        "grid.alpha": 0.25,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "font.size": 9,
        "svg.fonttype": "none",
    }
)


def style_axes(ax, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None):
    """Label an Axes (labels carry units where there are any) and return it."""
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def band(ax, xs, ys, color, label: str | None = None, **kw):
    """Seeds as a band: the mean and the min–max range over runs on a common grid (each run interpolated
    onto the first run's x), with the runs themselves drawn thin.

    Parameters
    ----------
    xs, ys : lists of 1-D arrays, one pair per seed.
    """
    x0 = np.asarray(xs[0], float)
    Y = np.array(
        [np.interp(x0, np.asarray(x, float), np.asarray(y, float)) for x, y in zip(xs, ys, strict=True)]
    )
    if len(Y) > 1:
        for x, y in zip(xs, ys, strict=True):
            ax.plot(x, y, color=color, lw=0.5, alpha=0.45)
    ax.fill_between(x0, Y.min(axis=0), Y.max(axis=0), color=color, alpha=0.2, lw=0)
    ax.plot(x0, Y.mean(axis=0), color=color, label=None if label is None else f"{label} (n = {len(Y)})", **kw)
    return ax


def save(fig, fig_dir, stem: str) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` (dpi 110) and ``<stem>.svg`` in ``fig_dir``, close it, and return both
    paths.

    Each file is written atomically (:func:`~simulations.storage.write_atomic`), so a redraw of a saved
    run (``icl-dynamics plot``) that fails or is interrupted leaves every figure whole: the new one or
    the old one.
    """
    fig.tight_layout()
    try:
        return [
            write_atomic(
                Path(fig_dir) / f"{stem}.{ext}", lambda tmp, ext=ext: fig.savefig(tmp, dpi=110, format=ext)
            )
            for ext in ("png", "svg")
        ]
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------- one function per result type
def plot_flow(result, ax=None, what: str = "gap"):
    """Draw a :class:`theory.linear_attention.FlowResult` on ``ax``: the loss gap L − L* against time
    (``what="gap"``, log scale) or the diagonal of u·U with Γ⁻¹ dotted (``what="V"``). Returns the Axes."""
    ax = plt.gca() if ax is None else ax
    if what == "gap":
        ax.plot(result.t, result.gap, color="k", label="theory: reduced flow")
        ax.set_yscale("log")
        return style_axes(ax, "gradient-flow time", "loss gap L − L*")
    if what != "V":
        raise ValueError(f"what must be 'gap' or 'V', got {what!r}")
    V = result.V
    for i in range(min(V.shape[1], 6)):
        ax.plot(result.t_U, V[:, i, i], color=OKABE_ITO[i % 7])
        ax.axhline(result.minimizer[i, i], color=OKABE_ITO[i % 7], ls=":", lw=0.8)
    return style_axes(ax, "gradient-flow time", "(u·U)_ii (dotted: the minimiser)")


def plot_comparison(comparison, ax=None):
    """Draw a :class:`simulations.linear_attention.FlowComparison`: the ODE's loss gap and the trained
    network's exact population gap on one time axis (lr × steps). Returns the Axes."""
    ax = plot_flow(comparison.flow, ax)
    if comparison.network_gap is not None:
        ax.plot(
            comparison.network.time,
            comparison.network_gap,
            ".",
            ms=3,
            color=OKABE_ITO[1],
            label="simulation: trained network",
        )
    ax.set_xlim(0, 2.5 * comparison.t_train)
    ax.legend(fontsize=7)
    return ax


def plot_nested_logits(trajectory, ax=None):
    """Draw a :class:`theory.induction_head.NestedLogitTrajectory`: its parameters and the right-label
    probability against gradient-flow time. Returns the Axes."""
    ax = plt.gca() if ax is None else ax
    for k, name in enumerate(trajectory.names):
        ax.plot(trajectory.t, trajectory.params[:, k], label=name, color=OKABE_ITO[k])
    ax.plot(trajectory.t, trajectory.p_right, "k--", label="P(right label)")
    if trajectory.t_transition is not None:
        ax.axvline(trajectory.t_transition, color="gray", ls=":")
    ax.legend(fontsize=7)
    return style_axes(ax, "gradient-flow time", "parameter / probability")


def plot_history(result, ax=None, keys=None):
    """Draw a training history (either task's ``TrainResult``) against the step: by default the accuracies
    of a classification run, or the evaluation loss of an LSA run. Returns the Axes."""
    ax = plt.gca() if ax is None else ax
    h = result.history
    if keys is None:
        keys = [k for k in ("acc_ic", "acc_ic2", "acc_iw", "acc_train") if k in h] or ["eval_loss"]
    missing = [k for k in keys if k not in h]
    if missing:
        raise ValueError(f"keys {missing} are not in the history (it has {sorted(h)})")
    for i, k in enumerate(keys):
        ax.plot(h["step"], h[k], label=k, color=OKABE_ITO[i % 7])
    ax.legend(fontsize=7)
    return style_axes(ax, "SGD step", ", ".join(keys))


__all__ = [
    "OKABE_ITO",
    "band",
    "plot_comparison",
    "plot_flow",
    "plot_history",
    "plot_nested_logits",
    "plt",
    "save",
    "style_axes",
]
