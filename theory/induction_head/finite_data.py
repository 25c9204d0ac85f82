r"""Three nested logits averaged over sampled contexts: finite D, ε and B (docs/induction_head.md §6,
extensions).

The idealised model (:mod:`.nested_logits`) assumes orthonormal items and one copy of the target's class.
Here the same three levels act on sampled contexts. For context ``s`` with item overlaps
g_j = x_q · x_j (j = 1..N), context labels ℓ_j and target label y:

  s = σ(β₁)
  p_j = softmax_j(α s g_j)                        layer-2 weight on label token j
  z_m = ξ Σ_j p_j [ℓ_j = m]   (m = 0..L−1)         classifier logits; absent labels get 0
  ℒ(β₁, α, ξ) = mean over contexts of −log softmax(z)_y

With one context whose overlaps are e_c (1 at the target's position c, 0 elsewhere) and N distinct labels,
this is exactly the idealised ℒ of docs/induction_head.md §6 (tested). Finite D makes the other overlaps
O(1/√D), ε lowers
the matching overlap to about 1/(1 + ε²), and B copies of the target's class put B positions on the right
label, so the plateau sits near B/N. The gradient is written by hand (chain rule through the three levels,
derived in docs/induction_head.md) and checked against finite differences and against the sympy gradient of
the idealised model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ode import event, event_time, integrate
from ..validation import as_count, as_open_unit, as_positive
from .nested_logits import PARAMS, NestedLogitTrajectory, initial_params


@dataclass(frozen=True)
class SampledContexts:
    """Contexts for the finite-data model: overlaps (S, N), context_labels (S, N), target (S,), labels L."""

    overlaps: np.ndarray
    context_labels: np.ndarray
    target: np.ndarray
    L: int

    def __post_init__(self):
        g = np.asarray(self.overlaps, dtype=float)
        lab = np.asarray(self.context_labels)
        y = np.asarray(self.target)
        if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] < 1:
            raise ValueError(f"overlaps must be a non-empty (S, N) array, got shape {g.shape}")
        if not np.all(np.isfinite(g)):
            raise ValueError("overlaps must be finite")
        if lab.shape != g.shape:
            raise ValueError(f"context_labels must have the overlaps' shape {g.shape}, got {lab.shape}")
        if y.shape != g.shape[:1]:
            raise ValueError(f"target must have shape ({g.shape[0]},), got {y.shape}")
        object.__setattr__(self, "L", as_count(self.L, "L", 2))
        for name, a in (("context_labels", lab), ("target", y)):
            if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= self.L:
                raise ValueError(f"{name} must be integers in [0, L) = [0, {self.L})")
        object.__setattr__(self, "overlaps", g)
        object.__setattr__(self, "context_labels", lab.astype(np.int64))
        object.__setattr__(self, "target", y.astype(np.int64))

    @classmethod
    def idealised(cls, N: int, L: int) -> SampledContexts:
        """The single context of docs/induction_head.md §6: overlap 1 with the first item, 0 elsewhere,
        labels 0..N−1."""
        g = np.zeros((1, N))
        g[0, 0] = 1.0
        return cls(g, np.arange(N)[None, :], np.zeros(1, dtype=np.int64), L)

    @property
    def N(self) -> int:
        return self.overlaps.shape[1]


def finite_data_loss(theta, ctx: SampledContexts, *, grad: bool = False):
    """Mean loss ℒ(β₁, α, ξ) over ``ctx`` (module docstring), its mean right-label probability and,
    with ``grad=True``, its gradient (dℒ/dβ₁, dℒ/dα, dℒ/dξ).

    Returns
    -------
    (loss, p_right) or (loss, p_right, gradient)
    """
    if not isinstance(ctx, SampledContexts):
        raise ValueError(f"ctx must be a SampledContexts, got {type(ctx).__name__}")
    beta1, alpha, xi = initial_params(theta, 3, "theta")
    g, lab, y = ctx.overlaps, ctx.context_labels, ctx.target
    S, N = g.shape
    s = 1.0 / (1.0 + np.exp(-beta1))
    a = alpha * s * g
    a -= a.max(axis=1, keepdims=True)
    p = np.exp(a)
    p /= p.sum(axis=1, keepdims=True)
    flat = (np.arange(S)[:, None] * ctx.L + lab).ravel()
    P = np.bincount(flat, weights=p.ravel(), minlength=S * ctx.L).reshape(S, ctx.L)  # P_m = Σ_j p_j [ℓ_j = m]
    z = xi * P
    z -= z.max(axis=1, keepdims=True)
    q = np.exp(z)
    q /= q.sum(axis=1, keepdims=True)
    rows = np.arange(S)
    loss = float(np.mean(-np.log(q[rows, y])))
    p_right = float(np.mean(q[rows, y]))
    if not grad:
        return loss, p_right
    G = q
    G[rows, y] -= 1.0  # dℒ_s/dz
    d_xi = np.sum(G * P) / S
    dp = xi * np.take_along_axis(G, lab, axis=1)  # dℒ_s/dp_j
    da = p * (dp - (p * dp).sum(axis=1, keepdims=True))  # through the softmax over j
    dag = np.sum(da * g) / S
    d_alpha = s * dag
    d_beta1 = s * (1 - s) * alpha * dag
    return loss, p_right, np.array([d_beta1, d_alpha, d_xi])


def integrate_finite_nested_logits(
    ctx: SampledContexts,
    init,
    t_max: float = 1e4,
    *,
    loss_tol: float | None = None,
    level: float = 0.5,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> NestedLogitTrajectory:
    """Gradient flow dθ/dt = −∇ℒ(θ) of the context-averaged model (LSODA, finite-difference Jacobian).

    Parameters
    ----------
    ctx : SampledContexts
    init : float or sequence of 3
        Initial (β₁, α, ξ); a float gives all three that value.
    t_max : float
        Final gradient-flow time.
    loss_tol : float or None
        Terminal event at ℒ = loss_tol. Finite-data losses have a floor above 0 (overlaps between
        different classes), so the default is None: run to ``t_max``.
    level : float
        ``t_transition`` is the first time the mean right-label probability reaches ``level`` (default ½).

    Returns
    -------
    NestedLogitTrajectory
    """
    if not isinstance(ctx, SampledContexts):
        raise ValueError(f"ctx must be a SampledContexts, got {type(ctx).__name__}")
    level = as_open_unit(level, "level")
    t_max = as_positive(t_max, "t_max")
    y0 = initial_params(init, 3)
    events = [event(lambda t, th: finite_data_loss(th, ctx)[1] - level, direction=1)]
    if loss_tol is not None:
        loss_tol = as_positive(loss_tol, "loss_tol")
        events.append(
            event(lambda t, th: finite_data_loss(th, ctx)[0] - loss_tol, terminal=True, direction=-1)
        )
    sol = integrate(
        f"finite-data nested-logit flow ({ctx.overlaps.shape[0]} contexts)",
        lambda t, th: -finite_data_loss(th, ctx, grad=True)[2],
        t_max,
        y0,
        method="LSODA",
        events=events,
        rtol=rtol,
        atol=atol,
    )
    Y = sol.y.T
    vals = np.array([finite_data_loss(th, ctx) for th in Y])
    return NestedLogitTrajectory(
        sol.t, Y, vals[:, 1], vals[:, 0], PARAMS[3], event_time(sol, 0), event_time(sol, 1), sol.nfev
    )
