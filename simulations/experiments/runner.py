"""Run an experiment, save it atomically with its figures, run many at once, and redraw figures from a saved
run."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from ..config import to_dict
from ..executors import InProcessExecutor
from ..storage import SavedRun, check_writable_dir, load_run, save_run
from .catalogue import get
from .kit import Context

_DRAWING = threading.Lock()  # pyplot keeps global state: one thread draws at a time


def _draw(exp, run):
    """Draw ``run``'s figures into its ``figures`` folder (made if missing), one thread at a time."""
    fig_dir = run.path / "figures"
    fig_dir.mkdir(exist_ok=True)
    with _DRAWING:
        return exp.plot(run, fig_dir)


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
        draw=lambda run: _draw(exp, run),
        seconds=time.perf_counter() - t0,
    )


START_FIRST = ("linear-attention-nonlinear-covariate-shift",)
"""Started first in their lane: the longest quick experiment (≈ 40% of its lane's CPU), so that the short
experiments behind it fill the end of the run instead of one core idling while it finishes."""


def lane_of(name: str) -> str:
    """The lane of an experiment: "jobs" when it plans classification training jobs (such experiments share
    them through the store: curves, side-by-side and initial-state train the same runs, so they run in order
    in one lane), "other" for the rest (the linear-attention experiments and the nested-logit theory), which
    share nothing."""
    return "jobs" if get(name).plan is not None else "other"


def run_many(runs, *, out="results", context: Context | None = None, overrides=(), log=sys.stderr):
    """Run ``(name, profile)`` pairs and return their saved runs in the same order.

    With an executor that has workers, the two lanes (:func:`lane_of`) run at once, each in its own thread
    and in the given order (:data:`START_FIRST` first), sharing the workers: one lane's theory, analysis
    and figures overlap the other's training runs, and the experiments that share jobs still find each
    other's finished jobs in the store (more lanes measured no faster: docs/cli.md). With the
    in-process executor everything runs one after another, :data:`START_FIRST` first too.
    """
    ctx = context or Context()
    lanes: dict[str, list[int]] = {}
    for i, (name, _) in sorted(enumerate(runs), key=lambda item: item[1][0] not in START_FIRST):
        lanes.setdefault(lane_of(name), []).append(i)
    saved: dict[int, SavedRun] = {}
    stop = threading.Event()  # set on the first error (or Ctrl-C): the other lane starts nothing new

    def lane(indices):
        for i in indices:
            if stop.is_set():
                return
            name, profile = runs[i]
            print(f"[icl-dynamics] {name} ({profile}) ...", file=log, flush=True)
            try:
                saved[i] = run_experiment(name, profile=profile, overrides=overrides, out=out, context=ctx)
            except BaseException:
                stop.set()
                raise
            print(f"[icl-dynamics] {name} done in {saved[i].seconds:.1f} s -> {saved[i].path}", file=log)

    if isinstance(ctx.executor, InProcessExecutor) or len(lanes) == 1:
        for indices in lanes.values():
            lane(indices)
    else:
        with ThreadPoolExecutor(len(lanes)) as pool:
            futures = [pool.submit(lane, indices) for indices in lanes.values()]
            try:
                wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:  # Ctrl-C: the lanes finish the experiment they are in, then stop
                stop.set()
                raise
            errors = [f.exception() for f in futures]  # waits for the other lane's current experiment
            errors = [e for e in errors if e is not None]
            if errors:
                for extra in errors[1:]:
                    print(f"[icl-dynamics] another lane failed too: {extra!r}", file=log)
                raise errors[0]
    return [saved[i] for i in range(len(runs))]


def redraw(run_dir) -> SavedRun:
    """(Re)draw a saved run's figures from its files only."""
    run = load_run(run_dir)
    _draw(get(run.experiment), run)
    return run
