"""run_many: the experiments that share classification jobs in order in one thread, the others in order in
another, both at once."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from simulations.experiments import runner
from simulations.experiments.kit import Context

JOBS = ["induction-head-curves", "induction-head-minimal", "induction-head-side-by-side"]
NAMES = ["linear-attention-symbolic", "linear-attention-flow", *JOBS]


@pytest.fixture
def recorded(monkeypatch):
    log = []

    def fake(name, *, profile, overrides, out, context):
        t0 = time.perf_counter()
        time.sleep(0.15)
        log.append((name, threading.get_ident(), t0, time.perf_counter()))
        return SimpleNamespace(name=name, profile=profile, seconds=0.15, path=name)

    monkeypatch.setattr(runner, "run_experiment", fake)
    return log


def test_results_in_order_lanes_in_order_and_overlapping(recorded):
    with ThreadPoolExecutor(2) as ex:
        runs = runner.run_many([(n, "quick") for n in NAMES], context=Context(executor=ex), log=io.StringIO())
    assert [r.name for r in runs] == NAMES
    by = {n: (tid, t0, t1) for n, tid, t0, t1 in recorded}
    assert len({by[n][0] for n in JOBS}) == 1  # the job-sharing experiments: one thread, in order
    assert all(by[a][2] <= by[b][1] for a, b in zip(JOBS, JOBS[1:], strict=False))
    assert len({by[n][0] for n in NAMES}) == 2  # the two others: in order in the other thread
    assert by[NAMES[0]][2] <= by[NAMES[1]][1]
    a, b = by[NAMES[0]], by[NAMES[2]]
    assert a[1] < b[2] and b[1] < a[2]  # at once
    # the whole took about the longer lane (3 × 0.15 s), not the sum (5 × 0.15 s): sleeps need no CPU
    assert max(t1 for *_, t1 in recorded) - min(t0 for _, _, t0, _ in recorded) < 4.5 * 0.15


def test_in_process_runs_one_after_another(recorded):
    runs = runner.run_many([(n, "quick") for n in NAMES], log=io.StringIO())
    assert [r.name for r in runs] == NAMES
    assert [n for n, *_ in recorded] == NAMES
    assert len({tid for _, tid, _, _ in recorded}) == 1


def test_a_failing_experiment_stops_both_lanes(monkeypatch):
    """The jobs lane fails in its first experiment: the other lane finishes the experiment it is in (if it
    started one) and starts no other; the error is raised."""
    started = []

    def fake(name, *, profile, overrides, out, context):
        started.append(name)
        if name == JOBS[0]:
            raise ValueError(f"bad {name}")
        time.sleep(0.3)
        return SimpleNamespace(name=name, profile=profile, seconds=0.3, path=name)

    monkeypatch.setattr(runner, "run_experiment", fake)
    with ThreadPoolExecutor(2) as ex, pytest.raises(ValueError, match="bad induction-head-curves"):
        runner.run_many([(n, "quick") for n in NAMES], context=Context(executor=ex), log=io.StringIO())
    assert set(started) <= {NAMES[0], JOBS[0]} and JOBS[0] in started  # nothing after the failure started


def test_lanes():
    assert runner.lane_of("induction-head-curves") == runner.lane_of("induction-head-data-dependence")
    assert runner.lane_of("induction-head-nested-logits") == "other"  # theory only
    assert runner.lane_of("linear-attention-risk") == "other"


def test_start_first_runs_first_in_its_lane_and_results_keep_the_given_order(recorded, monkeypatch):
    """START_FIRST (here the second linear-attention experiment) starts before the one listed ahead of it
    in its lane, and first of all in process; the returned runs stay in the given order."""
    monkeypatch.setattr(runner, "START_FIRST", (NAMES[1],))
    with ThreadPoolExecutor(2) as ex:
        runs = runner.run_many([(n, "quick") for n in NAMES], context=Context(executor=ex), log=io.StringIO())
    assert [r.name for r in runs] == NAMES
    by = {n: (t0, t1) for n, _, t0, t1 in recorded}
    assert by[NAMES[1]][1] <= by[NAMES[0]][0]
    recorded.clear()
    runner.run_many([(n, "quick") for n in NAMES], log=io.StringIO())
    assert [n for n, *_ in recorded] == [NAMES[1], NAMES[0], *JOBS]
