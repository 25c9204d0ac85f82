r"""Transition times of the nested-logit flow for whole grids at once, with the loss as the clock.

Along the gradient flow dθ/dt = −∇ℒ(θ) of docs/induction_head.md §6 the loss only decreases,
dℒ/dt = −‖∇ℒ‖², and ℒ = −log P(right). So P(right) reaches ``level`` exactly when ℒ reaches
ℓ* = −log(level), and the loss can serve as the independent variable. With ℓ = ℒ(θ₀) − s D,
D = ℒ(θ₀) − ℓ*, s ∈ [0, 1]:

    dθ/ds = −D ∇ℒ / ‖∇ℒ‖²,    dt/ds = D / ‖∇ℒ‖²,

and the transition time is t(s = 1). Every cell of a grid (its own N, L and θ₀) reaches its transition at
the same s = 1, so all cells are integrated as one system with a vectorised right-hand side and no event
search; a cell whose clock passes ``t_max`` is frozen and reported as never reaching the level.
"""

from __future__ import annotations

import numpy as np

from ..ode import integrate
from ..validation import as_open_unit, as_positive, real_array
from .nested_logits import PARAMS, integrate_nested_logits, model


def _integers(value, name: str, minimum) -> np.ndarray:
    """``value`` as a float array of integers >= ``minimum`` (a number or an array of the same shape),
    or a ValueError naming ``name`` and the rule; booleans are not integers."""
    rule = f"an integer >= {minimum} (or an array of them)"
    arr = real_array(value)
    if arr is None or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    if np.any(arr < minimum):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return arr


def _initial(init, depth: int) -> np.ndarray:
    """``init`` as a finite (..., depth) array; a number gives every parameter that value."""
    arr = real_array(init)
    if arr is not None and arr.ndim == 0:
        arr = np.full(depth, float(arr))
    if arr is None or arr.shape[-1] != depth or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"init must be a finite number or an array whose last axis has the {depth} parameters "
            f"{PARAMS[depth]}, got {init!r}"
        )
    return arr


def transition_times(
    N,
    L,
    init=0.0,
    *,
    depth: int = 3,
    level: float = 0.5,
    t_max: float = 1e4,
    rtol: float = 1e-10,
    atol: float = 1e-14,
):
    r"""First time P(right) reaches ``level`` under the nested-logit gradient flow, for many cells at once.

    The flow is dθ/dt = −∇ℒ(θ) of docs/induction_head.md §6 (the one :func:`integrate_nested_logits`
    integrates one cell at a time, from the same sympy gradient). Here the loss is the clock: ℒ only
    decreases and ℒ = −log P(right), so with ℓ = ℒ(θ₀) − sD, D = ℒ(θ₀) + log(level), s ∈ [0, 1],

        dθ/ds = −D ∇ℒ/‖∇ℒ‖²,   dt/ds = D/‖∇ℒ‖²,   t_transition = t(s = 1),

    and every cell reaches its transition at s = 1. All cells are integrated as one system (DOP853 with a
    vectorised right-hand side), with no per-cell event search.

    Parameters
    ----------
    N, L : int or array_like of int
        Context labels (N >= 2) and total labels (L >= N), broadcast against each other and against
        ``init``'s leading axes.
    init : float or (..., depth) array_like
        Initial parameters (β₁, α, ξ) (the ``depth`` last ones for depth < 3), one row per cell; a number
        gives every parameter of every cell that value.
    depth : {1, 2, 3}
        Nesting depth.
    level : float in (0, 1)
        The right-label probability that marks the transition.
    t_max : float
        Cells that have not reached ``level`` by this gradient-flow time are reported as NaN.
    rtol, atol : float
        Tolerances per cell (the solver, whose error norm is a root mean square over all cells, is given
        rtol/√(number of unknowns)).

    Returns
    -------
    float or ndarray of the broadcast shape
        Transition times: 0 where P(right) >= ``level`` already at θ₀ (:func:`integrate_nested_logits`
        reports None there: its event needs an upward crossing), NaN where the level is not reached by
        ``t_max`` (for instance from a critical point: the origin when L = N).

    Notes
    -----
    A cell is reported only if its final state satisfies ℒ(θ(1)) = ℓ* to 1e-7 (the clock and the loss
    agree); a cell that fails this, or makes the joint integration fail, is integrated alone with
    :func:`integrate_nested_logits`. Against that per-cell event search at rtol = 1e-12 the times agree to
    about 1e-11 relative (tests/theory/induction_head/test_nested_logits.py).
    """
    if isinstance(depth, (bool, np.bool_)) or depth not in PARAMS:
        raise ValueError(f"depth must be 1, 2 or 3, got {depth!r}")
    N_arr = _integers(N, "N", 2)
    L_arr = _integers(L, "L", 2)
    y0 = _initial(init, depth)
    level = as_open_unit(level, "level")
    t_max = as_positive(t_max, "t_max")
    rtol = as_positive(rtol, "rtol")
    atol = as_positive(atol, "atol")
    try:
        shape = np.broadcast_shapes(N_arr.shape, L_arr.shape, y0.shape[:-1])
    except ValueError:
        raise ValueError(
            f"N {N_arr.shape}, L {L_arr.shape} and init {y0.shape} (without its last axis) must broadcast"
        ) from None
    if np.any(L_arr < N_arr):
        raise ValueError(f"L must be an integer >= N (or an array of them), got L = {L!r} with N = {N!r}")
    Nf = np.broadcast_to(N_arr, shape).ravel()
    Lf = np.broadcast_to(L_arr, shape).ravel()
    Y0 = np.broadcast_to(y0, (*shape, depth)).reshape(-1, depth)

    m = model(depth)
    target = -np.log(level)
    with np.errstate(all="ignore"):
        loss0 = np.asarray(m["f_loss"](*Y0.T, Nf, Lf), dtype=float) * np.ones(len(Nf))
        g0 = _grad(m, Y0, Nf, Lf)
    out = np.full(len(Nf), np.nan)
    out[loss0 <= target] = 0.0
    live = np.nonzero((loss0 > target) & (np.einsum("ij,ij->i", g0, g0) > 0))[0]
    if len(live):
        cfg = (m, depth, target, t_max, rtol, atol, level)
        out[live] = _cells(cfg, Nf[live], Lf[live], Y0[live], loss0[live] - target)
    return float(out[0]) if shape == () else out.reshape(shape)


def _grad(m, Y, N, L) -> np.ndarray:
    """(M, depth) gradients of ℒ at the rows of Y."""
    return np.stack(np.broadcast_arrays(*m["f_grad"](*Y.T, N, L)), axis=1).astype(float)


def _cells(cfg, N, L, Y0, D) -> np.ndarray:
    """Transition times of M live cells: one joint integration; halves on failure; alone at the end."""
    m, depth, target, t_max, rtol, atol, level = cfg
    M = len(N)
    try:
        Z = _joint(cfg, N, L, Y0, D)
    except (RuntimeError, FloatingPointError):
        Z = None
    if Z is None:
        if M == 1:
            return np.array([_alone(cfg, N[0], L[0], Y0[0])])
        h = M // 2
        return np.concatenate(
            [_cells(cfg, N[:h], L[:h], Y0[:h], D[:h]), _cells(cfg, N[h:], L[h:], Y0[h:], D[h:])]
        )
    t = Z[:, depth]
    with np.errstate(all="ignore"):
        loss = np.asarray(m["f_loss"](*Z[:, :depth].T, N, L), dtype=float) * np.ones(M)
    out = np.where(t <= t_max, t, np.nan)
    # the clock must agree with the loss at the end; otherwise the cell is redone on its own
    bad = np.nonzero((t <= t_max) & ~(np.abs(loss - target) <= 1e-7))[0]
    for i in bad:
        out[i] = _alone(cfg, N[i], L[i], Y0[i])
    return out


def _joint(cfg, N, L, Y0, D) -> np.ndarray:
    """Integrate all cells in the loss clock s ∈ [0, 1]; (M, depth + 1) final states (θ, t)."""
    m, depth, target, t_max, rtol, atol, level = cfg
    M, k = len(N), depth

    def rhs_cells(s, z):
        Z = z.reshape(M, k + 1)
        with np.errstate(all="ignore"):
            g = _grad(m, Z[:, :k], N, L)
            w = np.where(Z[:, k] <= t_max, D / np.einsum("ij,ij->i", g, g), 0.0)  # frozen past t_max
        out = np.empty((M, k + 1))
        out[:, :k] = -w[:, None] * g
        out[:, k] = w
        return out.ravel()

    def rhs_one(s, z):  # one cell: the same equations on floats (math-module lambdify), no array overhead
        try:
            g = np.array(m["s_grad"](*z[:k].tolist(), n0, l0))
        except (OverflowError, ValueError, ZeroDivisionError):
            return np.full(k + 1, np.nan)
        g2 = float(g @ g)
        w = (d0 / g2 if g2 > 0 else np.inf) if z[k] <= t_max else 0.0
        return np.concatenate([-w * g, [w]])

    n0, l0, d0 = float(N[0]), float(L[0]), float(D[0])
    z0 = np.concatenate([Y0, np.zeros((M, 1))], axis=1).ravel()
    n = z0.size
    sol = integrate(
        f"nested-logit transition times (depth {depth}, {M} cells, loss clock)",
        rhs_one if M == 1 else rhs_cells,
        1.0,
        z0,
        method="DOP853",
        rtol=max(rtol / np.sqrt(n), 100 * np.finfo(float).eps),
        atol=atol / np.sqrt(n),
        t_eval=[1.0],
    )
    return sol.y[:, -1].reshape(M, k + 1)


def _alone(cfg, N, L, y0) -> float:
    """One cell by the event search of :func:`integrate_nested_logits` (the fallback)."""
    m, depth, target, t_max, rtol, atol, level = cfg
    tr = integrate_nested_logits(
        int(N),
        int(L),
        y0,
        t_max,
        depth=depth,
        level=level,
        loss_tol=min(1e-2, 0.5 * target),
        rtol=max(rtol, 1e-12),
        atol=atol,
    )
    return np.nan if tr.t_transition is None else tr.t_transition
