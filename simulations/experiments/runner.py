"""Run an experiment, save it atomically with its figures, and redraw figures from a saved run."""

from __future__ import annotations

import time
from pathlib import Path

from ..config import to_dict
from ..storage import SavedRun, check_writable_dir, load_run, save_run
from .catalogue import get
from .kit import Context


def run_experiment(
    name: str, *, profile: str = "quick", overrides=(), out="results", context: Context | None = None
) -> SavedRun:
    """Run the experiment ``name`` and save it under ``out/<name>/<run-id>/``.

    Every argument is checked before any work starts (the name, the profile, each override, the output
    folder); the figures are drawn from the saved files before the run folder gets its final name.
    """
    exp = get(name)
    cfg = exp.config(profile, overrides)
    check_writable_dir(out)
    t0 = time.perf_counter()
    outcome = exp.execute(cfg, context or Context())
    return save_run(
        out,
        name,
        profile,
        to_dict(cfg),
        outcome.metrics(),
        outcome.arrays,
        draw=lambda run: exp.plot(run, run.path / "figures"),
        seconds=time.perf_counter() - t0,
    )


def redraw(run_dir) -> SavedRun:
    """(Re)draw a saved run's figures from its files only."""
    run = load_run(run_dir)
    fig_dir = Path(run_dir) / "figures"
    fig_dir.mkdir(exist_ok=True)
    get(run.experiment).plot(run, fig_dir)
    return run
