"""One wrapper around ``scipy.integrate.solve_ivp`` for every gradient flow of the package.

It names the flow in every failure (a solver that gives up, a state that becomes non-finite), builds
events from plain functions, and reads event times back, so that no integrator repeats that code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

from .validation import as_positive

IMPLICIT = ("LSODA", "BDF", "Radau")
"""Methods that use a Jacobian when one is given."""


def event(fn: Callable, *, terminal: bool = False, direction: float = 0.0) -> Callable:
    """``fn(t, y)`` as a solve_ivp event (a zero crossing), terminal or not, with a crossing direction."""

    def ev(t, y):
        return fn(t, y)

    ev.terminal = terminal
    ev.direction = direction
    return ev


def integrate(
    what: str,
    rhs: Callable,
    t_max: float,
    y0,
    *,
    method: str = "LSODA",
    jac: Callable | None = None,
    events=(),
    rtol: float,
    atol: float,
    t_eval=None,
):
    """Integrate dy/dt = rhs(t, y) on [0, t_max] from ``y0``; the solution object of ``solve_ivp``.

    Parameters
    ----------
    what : str
        Name of the flow, used in every error message.
    rhs, jac : callables ``(t, y)``; ``jac`` is used by the implicit methods (:data:`IMPLICIT`) only.
    t_max : float
        Final time, > 0.
    rtol, atol : float
        The solver's tolerances; no default, so that every flow states its own.
    events : sequence of callables made with :func:`event`.

    Raises
    ------
    RuntimeError
        The solver failed (its message and the time it reached are given; with ``t_eval``, the last
        requested time reached, or that none was).
    FloatingPointError
        The state became non-finite (the last finite time is given).
    """
    t_max = as_positive(t_max, "t_max")
    kw = {"jac": jac} if jac is not None and method in IMPLICIT else {}
    sol = solve_ivp(
        rhs,
        (0.0, t_max),
        np.asarray(y0, dtype=np.float64),
        method=method,
        rtol=rtol,
        atol=atol,
        events=list(events) or None,
        t_eval=t_eval,
        **kw,
    )
    if sol.status < 0:  # with t_eval, sol.t holds only the requested times reached: maybe none
        at = f"at t = {sol.t[-1]:g}" if len(sol.t) else f"before the first requested time {t_eval[0]:g}"
        raise RuntimeError(f"{what}: solve_ivp failed {at}: {sol.message}")
    if not np.all(np.isfinite(sol.y)):
        bad = int(np.argmax(~np.all(np.isfinite(sol.y), axis=0)))
        last = sol.t[bad - 1] if bad > 0 else 0.0
        raise FloatingPointError(f"{what}: the state became non-finite after t = {last:g}")
    return sol


def event_time(sol, k: int) -> float | None:
    """First time event ``k`` fired in ``sol`` (None if it never did)."""
    if sol.t_events is None or k >= len(sol.t_events) or len(sol.t_events[k]) == 0:
        return None
    return float(sol.t_events[k][0])
