"""The experiment kit's checks: each kind passes on agreement and fails when one side is perturbed past its
tolerance (so a check can fail), and the training worker runs the same jobs the same way everywhere."""

import math

import numpy as np
import pytest

from simulations.executors import InProcessExecutor
from simulations.experiments.jobs import Job, JobFailure, run_jobs
from simulations.experiments.kit import Check, Context, Outcome
from simulations.induction_head import DataConfig, TrainConfig, train
from simulations.interfaces.report import counts, format_table


def test_value_and_relative():
    assert Check.value("v", 1.0, 1.0 + 1e-9, 1e-8, "why").passed
    assert not Check.value("v", 1.0, 1.0 + 2e-8, 1e-8, "why").passed  # perturbed past the tolerance
    assert Check.relative("r", 200.0, 201.0, 0.01, "why").passed
    assert not Check.relative("r", 200.0, 203.0, 0.01, "why").passed
    assert not Check.relative("r", 0.0, 0.0, 0.01, "why").passed  # relative to zero: never passes silently


def test_monte_carlo_uses_n_standard_errors():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 1.0, size=40_000)
    est, se = x.mean(), x.std(ddof=1) / np.sqrt(len(x))
    assert Check.monte_carlo("mc", 2.0, est, se).passed
    assert not Check.monte_carlo("mc", 2.0 + 5 * se, est, se).passed  # formula off by 5 s.e.
    assert Check.monte_carlo("mc", 2.0, est, se).tolerance == pytest.approx(4 * se)
    assert not Check.monte_carlo("mc", 2.0, 2.0, 0.0).passed  # no spread: no evidence


def test_trajectory_needs_enough_points_and_catches_a_time_shift():
    t = np.linspace(0, 5, 50)
    theory = np.exp(-t)
    assert Check.trajectory("tr", t, theory, theory + 0.001, 0.01, "why").passed
    assert not Check.trajectory("tr", t, theory, np.exp(-1.2 * t), 0.01, "why").passed  # 20% wrong rate
    few = Check.trajectory("tr", t[:5], theory[:5], theory[:5], 0.01, "why")
    assert not few.passed and "only 5 points" in few.detail
    scaled = Check.trajectory("tr", t, 100 * theory, 100 * theory + 0.5, 0.01, "why", scale=100.0)
    assert scaled.passed and scaled.discrepancy == pytest.approx(0.005)


def test_endpoint_is_relative_in_parameter_space():
    A = np.diag([1.0, 2.0])
    assert Check.endpoint("e", A, A * 1.01, 0.02, "why").passed
    assert not Check.endpoint("e", A, A * 1.03, 0.02, "why").passed
    assert not Check.endpoint("e", A, A.T + np.array([[0, 0.1], [0, 0]]), 0.02, "why").passed


def test_bound_reports_its_tightness_and_fails_when_violated():
    b = np.array([1.0, 0.5, 0.25])
    c = Check.bound("b", b, b / 16, "why")
    assert c.passed and "tightness max(actual/bound) = 0.0625" in c.detail
    assert not Check.bound("b", b, b * (1 + 1e-3), "why").passed
    assert Check.bound("b", b, b * (1 + 1e-7), "why").passed  # within the default slack 1e-6


def test_thresholds_and_holds():
    assert Check.at_least("a", 0.95, 0.9, "why").passed
    assert not Check.at_least("a", 0.85, 0.9, "why").passed
    assert not Check.at_least("a", None, 0.9, "why").passed  # a missing value (never reached) fails
    assert Check.at_most("a", 100.0, 200.0, "why").passed
    assert not Check.at_most("a", 300.0, 200.0, "why").passed
    assert Check.holds("h", True, "why").passed and not Check.holds("h", False, "why").passed


def test_direction_needs_the_end_points_to_move_and_no_reversal():
    assert Check.direction("up", [0.1, 0.5, 0.9], +1, 0.07, "why").passed
    assert Check.direction("down", [0.9, 0.93, 0.2], -1, 0.07, "why").passed  # a rise of 0.03 < 0.07
    assert not Check.direction("too small", [0.5, 0.56], +1, 0.07, "why").passed
    assert not Check.direction("wrong way", [0.9, 0.1], +1, 0.07, "why").passed
    c = Check.direction("reversal", [0.1, 0.9, 0.5, 0.95], +1, 0.07, "why")
    assert not c.passed and c.discrepancy == pytest.approx(0.4 - 0.07) and c.kind == "direction"
    down = Check.direction("down", [0.9, 0.2], -1, 0.07, "why")  # recorded: the move asked for, the move seen
    assert (down.theory, down.simulation) == (-0.07, pytest.approx(-0.7))
    one = Check.direction("one point", [0.5], +1, 0.07, "why")  # no neighbours, no reversal: only no change
    assert not one.passed and one.discrepancy == pytest.approx(0.07)


def test_a_finding_is_reported_either_way_and_only_it_is_not_binding():
    shown, not_shown = Check.finding("f", True, "why"), Check.finding("f", False, "why", "IC 0.27")
    assert shown.passed and not not_shown.passed and not_shown.detail == "IC 0.27"
    assert not shown.binding and not not_shown.binding
    assert Check.holds("h", False, "why").binding and Check.value("v", 1, 1, 0.1, "why").binding
    rows = [
        c.as_dict() for c in (shown, not_shown, Check.holds("h", True, "w"), Check.holds("h", False, "w"))
    ]
    assert [r["binding"] for r in rows] == [False, False, True, True]
    assert counts(rows) == (1, 1, 1, 1)  # validate's exit status reads counts(rows)[1]: the failed checks
    table = format_table(rows).splitlines()
    assert [line.split()[-1] for line in table[1:5]] == ["shown", "shown", "ok", "FAIL"]  # "not shown"
    assert table[2].endswith("not shown")
    assert (
        table[-1]
        == "1 checks passed, 1 failed; paper's claims at this setting: 1 shown, 1 not shown (findings)"
    )


def test_a_nan_discrepancy_never_passes():
    c = Check("n", 1.0, math.nan, math.nan, 1.0, "why")
    assert not c.passed


def test_outcome_metrics_carry_the_checks():
    out = Outcome({"a": 1}, {}, (Check.holds("h", True, "w"),))
    m = out.metrics()
    assert m["a"] == 1 and m["checks"][0]["passed"] and m["checks"][0]["kind"] == "holds"


def test_run_jobs_equals_direct_training_and_keeps_finished_jobs(tmp_path, monkeypatch):
    data = DataConfig(K=16, L=4, N=2, D=7, P=5, B=1, p_C=0.5)
    cfg = TrainConfig(steps=20, batch=8, eval_every=10, eval_size=20, checkpoint_every=10)
    jobs = [Job("network", data, cfg), Job("minimal", data, cfg), Job("network", data, cfg)]
    ctx = Context(executor=InProcessExecutor(), checkpoint_dir=tmp_path)
    got = run_jobs(jobs, ctx)
    want = train(data, cfg, "network")
    for k in want.params:
        np.testing.assert_array_equal(got[0].params[k], want.params[k])
        np.testing.assert_array_equal(got[2].params[k], want.params[k])  # an equal job is trained once
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "jobs").iterdir()) == ["minimal", "network"]
    assert sorted(p.name.split("-")[0] for p in tmp_path.glob("*.npz")) == [
        "minimal",
        "network",
    ]  # checkpoints
    # a second call loads every finished job instead of training it
    monkeypatch.setattr("simulations.experiments.jobs.train", lambda *a, **k: 1 / 0)
    again = run_jobs(jobs, ctx)
    for k in got[1].params:
        np.testing.assert_array_equal(again[1].params[k], got[1].params[k])
    np.testing.assert_array_equal(again[0].history["acc_ic"], want.history["acc_ic"])


def test_a_failing_job_is_reported_and_the_others_finish(tmp_path):
    data = DataConfig(K=16, L=4, N=2, D=7, P=5, B=1, p_C=0.5)
    good = TrainConfig(steps=4, batch=8, eval_every=2, eval_size=20)
    bad = TrainConfig(steps=50, batch=8, lr=1e6, eval_every=100, eval_size=20)
    ctx = Context(executor=InProcessExecutor(), checkpoint_dir=tmp_path)
    with np.errstate(all="ignore"):
        out = run_jobs([Job("network", data, good), Job("network", data, bad)], ctx, raise_failures=False)
        assert isinstance(out[1], JobFailure) and "diverged at step" in out[1].error
        assert out[0].history["step"][-1] == 4
        try:
            run_jobs([Job("network", data, bad)], ctx)
        except RuntimeError as exc:
            assert "1 of 1 training runs failed" in str(exc) and "diverged" in str(exc)
        else:
            raise AssertionError("a failed job must raise by default")
