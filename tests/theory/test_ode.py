"""The one ODE wrapper (theory/ode.py) every flow here uses."""

from types import SimpleNamespace

import numpy as np
import pytest

from theory import ode


def test_integrate_reports_failures_and_event_times_of_a_hand_built_solution(monkeypatch):
    """(theory.ode, used by every flow here.) A fake solve_ivp returns states finite up to t = 1 and
    non-finite from t = 2: the error names the last finite time, 1; a non-finite first state gives 0; with
    states at given times (t_eval) from 0.5 on, non-finite from the second, it names 0.5; a solver failure
    names the time it reached, or that it reached none of the requested times; event_time reads the first
    time of event k, or None."""

    def fake(y, status=0, t=(0.0, 1.0, 2.0, 3.0)):
        sol = SimpleNamespace(status=status, message="boom", t=np.array(t), y=np.array([y]), t_events=None)
        return lambda *a, **k: sol

    monkeypatch.setattr(ode, "solve_ivp", fake([1.0, 2.0, np.inf, np.nan]))
    with pytest.raises(FloatingPointError, match=r"^flow x: the state became non-finite after t = 1$"):
        ode.integrate("flow x", None, 3.0, [1.0], rtol=1e-8, atol=1e-10)
    monkeypatch.setattr(ode, "solve_ivp", fake([np.nan, 2.0, 3.0, 4.0]))
    with pytest.raises(FloatingPointError, match="non-finite after t = 0$"):
        ode.integrate("flow x", None, 3.0, [1.0], rtol=1e-8, atol=1e-10)
    monkeypatch.setattr(ode, "solve_ivp", fake([1.0, np.inf, 3.0, 4.0], t=(0.5, 1.0, 2.0, 3.0)))  # t_eval
    with pytest.raises(FloatingPointError, match="non-finite after t = 0.5$"):
        ode.integrate("flow x", None, 3.0, [1.0], rtol=1e-8, atol=1e-10)
    monkeypatch.setattr(ode, "solve_ivp", fake([1.0, 2.0, 3.0, 4.0], status=-1))
    with pytest.raises(RuntimeError, match="flow x: solve_ivp failed at t = 3: boom"):
        ode.integrate("flow x", None, 3.0, [1.0], rtol=1e-8, atol=1e-10)
    monkeypatch.setattr(ode, "solve_ivp", fake([], status=-1, t=()))  # failed before any time of t_eval
    with pytest.raises(
        RuntimeError, match="flow x: solve_ivp failed before the first requested time 2: boom"
    ):
        ode.integrate("flow x", None, 3.0, [1.0], rtol=1e-8, atol=1e-10, t_eval=[2.0, 3.0])
    monkeypatch.setattr(ode, "solve_ivp", fake([1.0, 2.0, 3.0, 4.0], status=1))
    assert (
        ode.integrate("flow x", None, 3.0, [1.0], rtol=1e-8, atol=1e-10).status == 1
    )  # an event stopped it: fine
    sol = SimpleNamespace(t_events=[np.array([0.5, 0.7]), np.array([]), np.array([2.5])])
    assert ode.event_time(sol, 0) == 0.5 and ode.event_time(sol, 1) is None
    assert ode.event_time(sol, 2) == 2.5 and ode.event_time(sol, 3) is None
    assert ode.event_time(SimpleNamespace(t_events=None), 0) is None
