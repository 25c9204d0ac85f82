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


def theory_sim_legend(ax, **kw):
    """A legend for an Axes whose labels say which lines are theory and which are simulation."""
    ax.legend(fontsize=7, **kw)
    return ax


def band(ax, xs, ys, color, label: str | None = None, *, seeds_visible: bool = True, **kw):
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
    if seeds_visible and len(Y) > 1:
        for x, y in zip(xs, ys, strict=True):
            ax.plot(x, y, color=color, lw=0.5, alpha=0.45)
    ax.fill_between(x0, Y.min(axis=0), Y.max(axis=0), color=color, alpha=0.2, lw=0)
    ax.plot(x0, Y.mean(axis=0), color=color, label=None if label is None else f"{label} (n = {len(Y)})", **kw)
    return ax


def save(fig, fig_dir, stem: str) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` (dpi 110) and ``<stem>.svg`` in ``fig_dir``, close it, and return both
    paths."""
    fig.tight_layout()
    out = []
    for ext in ("png", "svg"):
        path = Path(fig_dir) / f"{stem}.{ext}"
        fig.savefig(path, dpi=110)
        out.append(path)
    plt.close(fig)
    return out


__all__ = ["OKABE_ITO", "band", "plt", "save", "style_axes", "theory_sim_legend"]
