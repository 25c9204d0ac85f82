r"""Three nested logits: the phenomenological model of abrupt in-context learning (docs/induction_head.md §6).

*Package formulation* (the paper's exact equations could not be confirmed; docs/induction_head.md):
  s = σ(β₁)                                   layer-1 previous-token weight
  p = e^{αs} / (e^{αs} + N − 1),  q = (1 − p)/(N − 1)      layer-2 weight on the right / each other label
  ℒ = −log[e^{ξp} / (e^{ξp} + (N − 1) e^{ξq} + L − N)]     classifier
Nesting depth (same construction, fewer levels): depth 2 fixes s = 1 (β₁ drops out); depth 1 also fixes
p = 1, q = 0 (only ξ is learnt). The gradient and Hessian come from sympy (:func:`model`), lambdified.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..ode import event, event_time, integrate
from ..validation import as_count, as_open_unit, as_positive, real_array

PARAMS = {3: ("beta1", "alpha", "xi"), 2: ("alpha", "xi"), 1: ("xi",)}


def check_labels(N, L) -> tuple[int, int]:
    """(N, L) as integers with N >= 2 and L >= N, or a ValueError naming the argument."""
    N = as_count(N, "N", 2)
    L = as_count(L, "L", N)
    return N, L


def _check(N, L, depth):
    if isinstance(depth, bool) or depth not in PARAMS:
        raise ValueError(f"depth must be 1, 2 or 3, got {depth!r}")
    return check_labels(N, L)


def initial_params(init, depth: int, name: str = "init") -> np.ndarray:
    """``init`` as a finite (depth,) float array: a number gives every parameter that value."""
    y0 = real_array(init)
    if y0 is not None and y0.ndim == 0:
        y0 = np.full(depth, float(y0))
    if y0 is None or y0.shape != (depth,) or not np.all(np.isfinite(y0)):
        raise ValueError(
            f"{name} must be a finite number or a sequence of {depth} numbers for depth {depth}, got {init!r}"
        )
    return y0


@functools.cache
def model(depth: int = 3):
    """Symbolic loss, right-label probability, gradient and Hessian for a nesting depth, and their
    lambdified numpy versions.

    Returns
    -------
    dict with ``symbols`` (params tuple, N, L), ``loss``, ``p_right``, ``grad`` (list), ``hess`` (matrix),
    numpy callables ``f_loss``, ``f_p_right``, ``f_grad``, ``f_hess`` taking (*params, N, L) (broadcasting),
    and ``s_*`` versions of the same on plain floats (math module, for the ODE right-hand side).
    """
    if depth not in PARAMS:
        raise ValueError(f"depth must be 1, 2 or 3, got {depth!r}")
    b1, a, x = sp.symbols("beta1 alpha xi", real=True)
    N, L = sp.symbols("N L", positive=True)
    s = 1 / (1 + sp.exp(-b1)) if depth == 3 else sp.Integer(1)
    if depth >= 2:
        p = sp.exp(a * s) / (sp.exp(a * s) + N - 1)
        q = (1 - p) / (N - 1)
    else:
        p, q = sp.Integer(1), sp.Integer(0)
    Z = sp.exp(x * p) + (N - 1) * sp.exp(x * q) + L - N
    loss = -x * p + sp.log(Z)
    p_right = sp.exp(x * p) / Z
    params = {3: (b1, a, x), 2: (a, x), 1: (x,)}[depth]
    grad = [sp.diff(loss, v) for v in params]
    hess = sp.Matrix([[sp.diff(g, v) for v in params] for g in grad])
    args = (*params, N, L)
    lam = functools.partial(sp.lambdify, args, modules="numpy", cse=True)
    scalar = functools.partial(sp.lambdify, args, modules="math", cse=True)  # fast on floats (the ODE)
    return {
        "symbols": (params, N, L),
        "loss": loss,
        "p_right": p_right,
        "grad": grad,
        "hess": hess,
        "f_loss": lam(loss),
        "f_p_right": lam(p_right),
        "f_grad": lam(grad),
        "f_hess": lam(hess),
        "s_loss": scalar(loss),
        "s_p_right": scalar(p_right),
        "s_grad": scalar(grad),
        "s_hess": scalar(hess.tolist()),
    }


def nested_logit_loss(beta1, alpha, xi, N, L):
    """ℒ(β₁, α, ξ) of docs/induction_head.md §6 for the three-level model, broadcasting over arrays."""
    _check(N, L, 3)
    return model(3)["f_loss"](np.asarray(beta1, float), np.asarray(alpha, float), np.asarray(xi, float), N, L)


def origin_gradient(N, L) -> tuple:
    """Symbolic gradient at the origin, simplified: (0, 0, −(1/N − 1/L)) for (β₁, α, ξ)."""
    N, L = check_labels(N, L)
    m = model(3)
    (b1, a, x), Ns, Ls = m["symbols"]
    at0 = {b1: 0, a: 0, x: 0}
    return tuple(sp.simplify(g.subs(at0).subs({Ns: N, Ls: L})) for g in m["grad"])


def origin_is_critical_iff_L_equals_N() -> bool:
    """sympy: ∂ℒ/∂ξ(0) + (1/N − 1/L) simplifies to 0 and the other two components vanish, so ∇ℒ(0) = 0
    ⇔ L = N."""
    m = model(3)
    (b1, a, x), N, L = m["symbols"]
    g0 = [sp.simplify(g.subs({b1: 0, a: 0, x: 0})) for g in m["grad"]]
    return g0[0] == 0 and g0[1] == 0 and sp.simplify(g0[2] + (1 / N - 1 / L)) == 0


@dataclass(frozen=True)
class NestedLogitTrajectory:
    """Gradient flow of the nested-logit loss (learning rate 1: t is gradient-flow time).

    t : (n,);  params : (n, depth), columns named by :data:`PARAMS` [depth];  p_right : (n,) probability of
    the right label;  loss : (n,);  t_transition : first time p_right ≥ 1/2 (None if never);
    t_converged : first time the loss ≤ ``loss_tol`` (None if never).
    """

    t: np.ndarray
    params: np.ndarray
    p_right: np.ndarray
    loss: np.ndarray
    names: tuple
    t_transition: float | None
    t_converged: float | None
    nfev: int

    def param(self, name: str) -> np.ndarray:
        return self.params[:, self.names.index(name)]


def integrate_nested_logits(
    N,
    L,
    init,
    t_max: float = 1e4,
    *,
    depth: int = 3,
    loss_tol: float = 1e-2,
    level: float = 0.5,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "LSODA",
    t_eval=None,
    frozen=(),
) -> NestedLogitTrajectory:
    r"""Integrate dθ/dt = −∇ℒ(θ) from ``init`` (docs/induction_head.md §6), LSODA with the sympy Hessian
    as Jacobian.

    Parameters
    ----------
    N, L : int
        Context labels (N ≥ 2) and total labels (L ≥ N).
    init : float or sequence
        Initial parameters (β₁, α, ξ) (or the ``depth`` last ones); a float gives all of them that value.
    t_max : float
        Final gradient-flow time.
    depth : {1, 2, 3}
        Nesting depth.
    loss_tol : float
        Terminal event: stop when ℒ ≤ loss_tol (right-label probability ≥ e^{−loss_tol} ≈ 0.99 by default).
    level : float
        ``t_transition`` is the first time the right-label probability reaches ``level`` (default ½).
    frozen : sequence of str
        Parameters held at their initial value (their gradient is dropped): depth 3 with β₁ frozen at 0 is
        depth 2 with the layer-1 weight s fixed at ½ instead of 1.

    Returns
    -------
    NestedLogitTrajectory
    """
    N, L = _check(N, L, depth)
    level = as_open_unit(level, "level")
    t_max = as_positive(t_max, "t_max")
    loss_tol = as_positive(loss_tol, "loss_tol")
    m = model(depth)
    names = PARAMS[depth]
    if isinstance(frozen, str) or not set(frozen) <= set(names):
        raise ValueError(f"frozen must be a sequence of parameter names from {names}, got {frozen!r}")
    live = np.array([n not in frozen for n in names], dtype=float)
    y0 = initial_params(init, depth)
    fg, fh, fl, fp = m["s_grad"], m["s_hess"], m["s_loss"], m["s_p_right"]
    N, L = float(N), float(L)  # the lambdified functions take floats

    def rhs(t, y):
        return -live * np.array(fg(*y.tolist(), N, L))

    def jac(t, y):
        return -live[:, None] * np.array(fh(*y.tolist(), N, L))

    half = event(lambda t, y: fp(*y.tolist(), N, L) - level, direction=1)
    done = event(lambda t, y: fl(*y.tolist(), N, L) - loss_tol, terminal=True, direction=-1)
    sol = integrate(
        f"nested-logit flow (depth {depth}, N = {N}, L = {L})",
        rhs,
        t_max,
        y0,
        method=method,
        jac=jac,
        events=[half, done],
        rtol=rtol,
        atol=atol,
        t_eval=t_eval,
    )
    Y = sol.y.T
    pr = np.asarray(m["f_p_right"](*Y.T, N, L), dtype=float) * np.ones(len(sol.t))
    lo = np.asarray(m["f_loss"](*Y.T, N, L), dtype=float) * np.ones(len(sol.t))
    return NestedLogitTrajectory(sol.t, Y, pr, lo, names, event_time(sol, 0), event_time(sol, 1), sol.nfev)


def progress_analogues(traj: NestedLogitTrajectory, N, L) -> dict[str, np.ndarray]:
    """The networks' progress measures (docs/induction_head.md §3) as the idealised model has them, along a
    depth-3 trajectory.

    ILA1 = s = σ(β₁) (layer-1 weight on the previous item); TILA2 = p (layer-2 weight on the right label);
    CLA = (e^{ξp} + (N − 1)e^{ξq}) / Z, the classifier's mass on the N context labels. (TLA2 is identically 1:
    the model attends to label tokens only, so it is not returned.)
    """
    _check(N, L, 3)
    b1, a, x = traj.param("beta1"), traj.param("alpha"), traj.param("xi")
    s = 1.0 / (1.0 + np.exp(-b1))
    p = np.exp(a * s) / (np.exp(a * s) + N - 1)
    q = (1 - p) / (N - 1)
    top = np.maximum(x * p, x * q)
    ctx = np.exp(x * p - top) + (N - 1) * np.exp(x * q - top)
    return {"ILA1": s, "TILA2": p, "CLA": ctx / (ctx + (L - N) * np.exp(-top))}


def growth_order(traj: NestedLogitTrajectory, threshold: float = 0.1) -> list[tuple[str, float | None]]:
    """The parameters sorted by onset: the first time each moves ``threshold`` away from its initial value
    (the intrinsic curriculum ξ → α → β₁ of docs/induction_head.md §6). None if it never does."""
    out = []
    for k, name in enumerate(traj.names):
        idx = np.nonzero(np.abs(traj.params[:, k] - traj.params[0, k]) >= threshold)[0]
        out.append((name, float(traj.t[idx[0]]) if len(idx) else None))
    return sorted(out, key=lambda r: np.inf if r[1] is None else r[1])
