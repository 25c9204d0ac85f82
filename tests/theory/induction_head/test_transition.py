"""The batched nested-logit transition times (theory/induction_head/transition.py)."""

import numpy as np
import pytest

from theory.induction_head import integrate_nested_logits, transition, transition_times


def event_search(N, L, init=0.0):
    """The reference: the per-cell event search at rtol 1e-12 (transition_times' Notes); NaN if never."""
    t = integrate_nested_logits(N, L, init, 1e4, rtol=1e-12).t_transition
    return np.nan if t is None else t


def forbid_fallback(monkeypatch):
    """Make any cell redone alone by the per-cell search fail the test."""

    def no_fallback(*args):
        raise AssertionError("a cell was redone alone")

    monkeypatch.setattr(transition, "_alone", no_fallback)


def test_a_cell_whose_clock_disagrees_with_its_loss_is_redone_alone_in_its_own_place(monkeypatch):
    """(transition_times, the batched grid of theory/induction_head/transition.py.) The joint
    integration is made to return, for the middle of three cells, its start θ and half its clock: that cell
    must be redone by the per-cell event search and reported at its own index, the others untouched
    (agreement with the unperturbed run to 1e-6 relative, the per-cell search's own accuracy)."""
    init = np.array([[0.0, 0.1, 0.2], [0.0, 0.5, 0.4], [0.0, 0.9, 0.8]])
    want = transition_times(8, 32, init)
    assert len(set(np.round(want, 6))) == 3  # three different times
    joint = transition._joint

    def corrupt(spec, N, L, Y0, D):
        Z = joint(spec, N, L, Y0, D).copy()
        if len(N) == 3:
            Z[1, :3], Z[1, 3] = Y0[1], 0.5 * Z[1, 3]
        return Z

    monkeypatch.setattr(transition, "_joint", corrupt)
    np.testing.assert_allclose(transition_times(8, 32, init), want, rtol=1e-6)


def test_the_per_cell_fallback_runs_the_event_search_as_documented(monkeypatch):
    """(transition_times.) A cell redone alone goes to integrate_nested_logits at rtol = max(rtol, 1e-12)
    (transition_times' Notes: the per-cell search at rtol 1e-12 is the reference), with the cell's own
    N, L, start and level, and stops at the loss min(1e-2, ½ℓ*), ℓ* = −log(level)."""
    calls = []

    def record(N, L, y0, t_max, **kw):
        calls.append((N, L, list(y0), t_max, kw))
        return type("T", (), {"t_transition": 7.0})()

    def fail(*args):
        raise RuntimeError("forced")

    monkeypatch.setattr(transition, "_joint", fail)
    monkeypatch.setattr(transition, "integrate_nested_logits", record)
    got = transition_times([8, 4], 32, [0.0, 0.2, 0.3], level=0.99, t_max=50.0, rtol=1e-14)
    assert list(got) == [7.0, 7.0]
    assert [c[:4] for c in calls] == [(8, 32, [0.0, 0.2, 0.3], 50.0), (4, 32, [0.0, 0.2, 0.3], 50.0)]
    kw = calls[0][4]
    assert kw["rtol"] == 1e-12 and kw["level"] == 0.99 and kw["depth"] == 3
    assert kw["loss_tol"] == pytest.approx(0.5 * -np.log(0.99), rel=1e-14)  # ½ℓ* ≈ 0.005 < 1e-2
    calls.clear()
    transition_times(8, 32, [0.0, 0.2, 0.3], level=0.5, rtol=1e-9)
    assert calls[0][4]["rtol"] == 1e-9 and calls[0][4]["loss_tol"] == 1e-2


@pytest.mark.parametrize("gap, redone", [(1.2e-7, True), (0.8e-7, False)])
def test_a_clock_is_kept_only_while_its_final_loss_is_within_1e_7_of_the_target(monkeypatch, gap, redone):
    """(transition_times.) The joint integration's final state of the middle cell is moved along the
    gradient until its loss is ``gap`` below the target (first order: θ − gap·g/|g|²) and its clock is
    halved. Beyond 1e-7 the cell is redone alone and gets its true time back (1e-6 relative); within it, the
    halved clock is kept: the tolerance is 1e-7 on the loss, no more and no less."""
    init = np.array([[0.0, 0.1, 0.2], [0.0, 0.5, 0.4], [0.0, 0.9, 0.8]])
    want = transition_times(8, 32, init)
    joint = transition._joint

    def nudge(spec, N, L, Y0, D):
        Z = joint(spec, N, L, Y0, D).copy()
        if len(N) == 3:
            g = transition._grad(spec[0], Z[1:2, :3], N[1:2], L[1:2])[0]
            Z[1, :3] -= gap * g / (g @ g)  # a step down the gradient: the loss moves by −gap
            Z[1, 3] *= 0.5
        return Z

    monkeypatch.setattr(transition, "_joint", nudge)
    got = transition_times(8, 32, init)
    assert got[1] == pytest.approx(want[1] if redone else 0.5 * want[1], rel=1e-6)
    np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], rtol=1e-12)


def test_the_default_start_is_the_origin():
    """transition_times(N, L) starts every parameter at 0 (the theory's origin, docs §6)."""
    assert transition_times(8, 32) == transition_times(8, 32, [0.0, 0.0, 0.0])
    assert transition_times(8, 32) != transition_times(8, 32, [0.5, 0.5, 0.5])


def test_the_joint_integration_alone_solves_one_cell_and_a_grid(monkeypatch):
    """(transition_times.) The per-cell fallback is for failures only: one cell (its scalar right-hand
    side) and a 2 × 2 grid (the vectorised one) both come out of the joint integration, with the clock
    agreeing with the loss, and no cell is redone alone; the times match the per-cell event search to 1e-6
    (its documented accuracy)."""
    want = [[event_search(n, labels) for labels in (16, 32)] for n in (4, 8)]
    forbid_fallback(monkeypatch)
    assert transition_times(8, 32) == pytest.approx(want[1][1], rel=1e-6)
    np.testing.assert_allclose(transition_times([[4], [8]], [[16, 32]]), want, rtol=1e-6)


def test_a_grid_is_one_system_given_rtol_over_root_n_and_each_cell_meets_rtol(monkeypatch):
    """(transition_times.) The joint system's error norm is a root mean square over its n unknowns, so the
    solver is given rtol/√n (docstring). On a 4 × 4 grid the cell N = L = 8 sits at the L = N critical point
    (zero gradient): it never enters the system and is NaN, as in the per-cell search. The other 15 cells,
    4 unknowns each, are one integration with n = 60 (rtol/√60 handed to the solver, none redone alone),
    and each time matches the per-cell event search at rtol 1e-12 to the rtol = 1e-6 asked for (measured:
    2.9e-8)."""
    Ns, Ls = [2, 3, 4, 8], [8, 16, 32, 64]
    ref = np.array([[event_search(n, m) for m in Ls] for n in Ns])
    given, integrate = [], transition.integrate

    def spy(what, rhs, t_max, y0, **kw):
        given.append((len(y0), kw["rtol"]))
        return integrate(what, rhs, t_max, y0, **kw)

    monkeypatch.setattr(transition, "integrate", spy)
    forbid_fallback(monkeypatch)
    got = transition_times(np.array(Ns)[:, None], np.array(Ls)[None, :], rtol=1e-6)
    assert given == [(60, 1e-6 / np.sqrt(60))]
    assert np.array_equal(np.isnan(got), np.isnan(ref)) and np.isnan(ref).sum() == 1
    ok = ~np.isnan(ref)
    assert np.max(np.abs(got[ok] / ref[ok] - 1)) <= 1e-6


def test_a_range_error_in_the_one_cell_equations_sends_the_cell_to_the_event_search(monkeypatch):
    """(transition_times, one cell.) Its scalar right-hand side evaluates the sympy gradient with the math
    module, which raises OverflowError where numpy would give inf. Made to raise from the fifth call on,
    the right-hand side returns NaN; DOP853 rejects those steps until its step size underflows, and
    theory.ode.integrate raises RuntimeError: it failed before the first requested time (a message that
    once raised IndexError instead). The cell is then redone by the per-cell event search: the same time
    as integrate_nested_logits to 1e-6 (its documented accuracy)."""
    real = transition.model(3)
    calls = {"grad": 0, "alone": 0}
    raised = []

    def s_grad(*args):
        calls["grad"] += 1
        if calls["grad"] >= 5:
            raise OverflowError("math range error")
        return real["s_grad"](*args)

    joint, alone = transition._joint, transition._alone

    def recording_joint(*args):
        try:
            return joint(*args)
        except Exception as err:
            raised.append(err)
            raise

    def counted_alone(*args):
        calls["alone"] += 1
        return alone(*args)

    monkeypatch.setattr(transition, "model", lambda depth: {**real, "s_grad": s_grad})
    monkeypatch.setattr(transition, "_joint", recording_joint)
    monkeypatch.setattr(transition, "_alone", counted_alone)
    want = event_search(8, 32)
    assert transition_times(8, 32) == pytest.approx(want, rel=1e-6)
    assert [type(e) for e in raised] == [RuntimeError]
    assert "failed before the first requested time 1" in str(raised[0])
    assert calls["grad"] >= 5 and calls["alone"] == 1
