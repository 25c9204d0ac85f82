"""The check layer (:class:`simulations.experiments.kit.Check`) against hand-computed values.

Each constructor's discrepancy must be the written-out difference of its two sides (a check that compares a
quantity with itself reports 0 and is caught), its tolerance must be the one asked for or documented (a
tolerance made 10× or 1.5× looser is caught at a boundary case), and the reported sides must be the ones
at the worst point. The numbers are chosen so that every expected value is exact in binary floating point
or compared to 1e-12 relative.

These tests belong beside tests/simulations/experiments/test_kit.py; they live here because the mutation
measurement that found the gaps (tests/mutation/mutate.py) could only add files under tests/mutation/.
"""

import math

import numpy as np
import pytest

from simulations.experiments.kit import Check


def test_value_is_the_absolute_difference_and_passes_at_equality():
    c = Check.value("v", 2.0, 5.5, 4.0, "why")
    assert (c.theory, c.simulation, c.discrepancy, c.tolerance, c.kind) == (2.0, 5.5, 3.5, 4.0, "value")
    assert c.passed
    assert not Check.value("v", 2.0, 5.5, 3.4, "why").passed
    assert Check.value("v", 1.0, 1.5, 0.5, "why").passed  # discrepancy == tolerance passes (<=)
    assert not Check.value("v", 1.0, 1.5, 0.4999, "why").passed
    assert Check.value("v", 7.0, 7.0, 0.0, "why").passed  # exact agreement with zero tolerance
    assert not Check.value("v", None, 1.0, 1e9, "why").passed  # a missing side (None -> nan) never passes


def test_relative_divides_by_the_theory_side_in_absolute_value():
    c = Check.relative("r", -4.0, -5.0, 0.25, "why")
    assert (c.theory, c.simulation, c.discrepancy, c.kind) == (-4.0, -5.0, 0.25, "relative")
    assert c.passed  # 1/4 exactly, at the tolerance
    assert not Check.relative("r", -4.0, -5.0, 0.24, "why").passed
    assert Check.relative("r", 8.0, 0.0, 1.0, "why").discrepancy == 1.0  # |8 − 0| / 8
    assert Check.relative("r", 0.0, 1.0, 1e9, "why").discrepancy == math.inf


def test_monte_carlo_tolerance_is_n_standard_errors():
    c = Check.monte_carlo("mc", 1.0, 1.25, 0.125)
    assert (c.theory, c.simulation, c.discrepancy, c.tolerance) == (1.0, 1.25, 0.25, 0.5)  # 4 s.e.
    assert c.passed and c.detail == "2.00 s.e." and c.kind == "monte_carlo"
    assert not Check.monte_carlo("mc", 1.0, 1.0 + 4.5 * 0.125, 0.125).passed  # 4.5 s.e. off
    assert Check.monte_carlo("mc", 1.0, 1.5, 0.125).passed  # exactly 4 s.e.: at the tolerance
    two = Check.monte_carlo("mc", 1.0, 1.25, 0.125, n_se=1.5)
    assert two.tolerance == 0.1875 and not two.passed and "1.5 Monte Carlo standard errors" in two.why
    none = Check.monte_carlo("mc", 1.0, 1.0, -0.1)  # a negative "standard error" is no spread
    assert not none.passed and none.discrepancy == math.inf and none.tolerance == 0.0


def test_trajectory_reports_the_worst_point_scaled_and_needs_twenty_points():
    t = np.arange(20.0)
    th = np.linspace(1.0, 2.0, 20)
    si = th.copy()
    si[7] += 0.375
    si[3] -= 0.125
    c = Check.trajectory("tr", t, th, si, 0.1, "why", scale=4.0)
    assert c.theory == th[7] and c.simulation == si[7]
    assert c.discrepancy == pytest.approx(0.375 / 4.0, rel=1e-12) and c.tolerance == 0.1
    assert c.passed and "20 points" in c.detail and "worst at t = 7" in c.detail
    assert not Check.trajectory("tr", t, th, si, 0.09, "why", scale=4.0).passed
    assert not Check.trajectory("tr", t, th, si, 0.1, "why", scale=2.0).passed  # scale divides
    assert Check.trajectory("tr", t, th, si, 0.5, "why").discrepancy == 0.375  # default scale 1
    few = Check.trajectory("tr", t[:19], th[:19], si[:19], 1.0, "why")  # 19 < 20 points
    assert not few.passed and few.theory == th[7] and few.simulation == si[7]
    assert "only 19 points (at least 20 needed)" in few.detail
    assert Check.trajectory("tr", t[:5], th[:5], si[:5], 1.0, "why", min_points=5).passed


def test_endpoint_is_the_relative_frobenius_distance():
    th = np.array([[3.0, 0.0], [0.0, 4.0]])  # ‖th‖_F = 5
    si = th + np.array([[0.0, 1.0], [0.0, 0.0]])
    c = Check.endpoint("e", th, si, 0.2, "why")
    assert c.theory == 5.0 and c.simulation == pytest.approx(np.sqrt(26.0), rel=1e-14)
    assert c.discrepancy == pytest.approx(0.2, rel=1e-14) and c.kind == "endpoint"
    assert not Check.endpoint("e", th, si, 0.19, "why").passed


def test_bound_compares_actual_over_bound_pointwise_with_a_small_slack():
    b = np.array([1.0, 2.0, 4.0])
    a = np.array([0.5, 1.0, 4.4])  # ratios 0.5, 0.5, 1.1: the worst point is the last
    c = Check.bound("b", b, a, "why")
    assert c.theory == 4.0 and c.simulation == 4.4 and c.tolerance == 1e-6
    assert c.discrepancy == pytest.approx(0.1, rel=1e-12) and not c.passed
    assert c.detail == "tightness max(actual/bound) = 1.1"
    loose = Check.bound("b", b, np.array([0.2, 1.8, 2.0]), "why")  # ratios 0.2, 0.9, 0.5
    assert loose.passed and loose.discrepancy == 0.0 and (loose.theory, loose.simulation) == (2.0, 1.8)
    assert loose.detail == "tightness max(actual/bound) = 0.9"
    assert Check.bound("b", b, b * (1 + 0.9e-6), "why").passed  # inside the default slack 1e-6
    assert not Check.bound("b", b, b * (1 + 1.1e-6), "why").passed  # just outside it
    assert Check.bound("b", b, b * 1.01, "why", slack=0.02).passed


def test_thresholds_are_one_sided_with_zero_tolerance():
    lo = Check.at_least("a", 0.75, 1.0, "why")
    assert (lo.theory, lo.simulation, lo.discrepancy, lo.tolerance) == (1.0, 0.75, 0.25, 0.0)
    assert not lo.passed and lo.kind == "threshold"
    assert Check.at_least("a", 1.0, 1.0, "why").passed and Check.at_least("a", 3.0, 1.0, "why").passed
    hi = Check.at_most("a", 1.25, 1.0, "why")
    assert (hi.theory, hi.simulation, hi.discrepancy, hi.tolerance) == (1.0, 1.25, 0.25, 0.0)
    assert not hi.passed
    assert Check.at_most("a", 1.0, 1.0, "why").passed and Check.at_most("a", -3.0, 1.0, "why").passed
    assert not Check.at_most("a", math.nan, 1.0, "why").passed


def test_holds_has_fixed_sides():
    yes, no = Check.holds("h", True, "why"), Check.holds("h", 0, "why")
    assert (yes.theory, yes.simulation, yes.discrepancy, yes.tolerance) == (1.0, 1.0, 0.0, 0.0)
    assert (no.theory, no.simulation, no.discrepancy, no.tolerance) == (1.0, 0.0, 1.0, 0.0)
    assert yes.passed and not no.passed and yes.kind == "holds"


def test_passed_needs_a_finite_discrepancy_within_the_tolerance():
    assert not Check("x", 0.0, 0.0, math.inf, math.inf, "why").passed
    assert Check("x", 0.0, 0.0, 2.0, 2.0, "why").passed
    assert not Check("x", 0.0, 0.0, 2.0, 1.999, "why").passed
    d = Check.value("v", 1.0, 2.0, 0.5, "why").as_dict()
    assert d["passed"] is False and d["discrepancy"] == 1.0 and d["name"] == "v"
