r"""The reduced flow linearised at its limit: the rate at which the loss gap finally decays.

In Λ's eigenbasis the reduced loss is Σ_i ½u²c_i v_i² − u b_i v_i + Σ_{i≠j} ½u²c_ij v_ij² + ½ tr Λ
(docs/linear_attention.md §2; c_i = g_iλ_i², b_i = λ_i², c_ij = g_iλ_iλ_j). Near a minimum (u*, v*) gradient
flow is δ' = −H δ with H the Hessian in (u, v_1 … v_d), block-diagonal with the off-diagonal modes (u*²c_ij).
H has one zero eigenvalue, along the curve of minima u v_i = b_i / c_i, which the conserved u² − ‖U‖² pins;
the gap ½ δᵀHδ = ½ Σ_k λ_k a_k² e^{−2λ_k t} is a sum of decaying modes, and finally decays at 2λ, λ the
smallest positive eigenvalue among the modes the deviation holds. Unlike the paper's PL rate (a lower bound
that may be loose by orders of magnitude), this is an asymptotic equality, so a check against it can fail.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_count, as_covariance, as_matrix, as_real
from .moments import gamma_eigenvalues


def _modes(cov, N, u_now, U_now, u_end, U_end):
    """Rates λ_k of the linearised flow and the squared amplitudes of the deviation on each mode."""
    lam = as_covariance(cov)
    N = as_count(N, "N")
    d = lam.shape[0]
    evals, Q = np.linalg.eigh(lam)
    g = gamma_eigenvalues(evals, N)
    c, b = g * evals**2, evals**2
    u, U = as_real(u_end, "u_end"), Q.T @ as_matrix(U_end, "U_end", (d, d)) @ Q
    u0, U0 = as_real(u_now, "u_now"), Q.T @ as_matrix(U_now, "U_now", (d, d)) @ Q
    v = np.diag(U)
    H = np.zeros((d + 1, d + 1))
    H[0, 0] = np.sum(c * v**2)
    H[0, 1:] = H[1:, 0] = 2 * u * c * v - b
    H[1:, 1:] = np.diag(u**2 * c)
    w, vec = np.linalg.eigh(H)
    amp2 = (vec.T @ np.concatenate([[u0 - u], np.diag(U0) - v])) ** 2
    off = ~np.eye(d, dtype=bool)
    c_off = (g * evals)[:, None] * evals[None, :]
    rates = np.concatenate([w, u**2 * c_off[off]])
    amp2 = np.concatenate([amp2, (U0 - U)[off] ** 2])
    rates[rates < 1e-9 * rates.max()] = 0.0  # the direction along the curve of minima
    return rates, amp2


def linearised_gap(cov, N, u_now, U_now, u_end, U_end, tau) -> np.ndarray:
    """The loss gap the linearised flow predicts a time ``tau`` after the state (u_now, U_now):
    ½ Σ_k λ_k a_k² e^{−2λ_k τ}, a_k the deviation from the limit on mode k (module docstring).

    Parameters
    ----------
    cov : (d, d) array_like
    N : int
    u_now, U_now : float, (d, d) array_like
        The state at τ = 0.
    u_end, U_end : float, (d, d) array_like
        The limit (the end of an integrated trajectory).
    tau : float or array_like
        Times after the state, >= 0.

    Returns
    -------
    ndarray of the shape of ``tau``
    """
    rates, amp2 = _modes(cov, N, u_now, U_now, u_end, U_end)
    t = np.asarray(tau, dtype=float)
    return 0.5 * np.sum(rates * amp2 * np.exp(-2 * np.multiply.outer(t, rates)), axis=-1)


def tail_rate(cov, N, u_now, U_now, u_end, U_end, *, present: float = 1e-3) -> float:
    """Predicted asymptotic decay rate of the loss gap, from a state near the limit: 2λ, λ the smallest
    positive Hessian eigenvalue among the modes holding at least ``present`` of the deviation's gap.

    Parameters as :func:`linearised_gap`.
    """
    rates, amp2 = _modes(cov, N, u_now, U_now, u_end, U_end)
    share = rates * amp2
    keep = (rates > 0) & (share > 0) & (share >= present * share.sum())
    if not np.any(keep):
        raise ValueError("the state is at the limit already: no deviation to decay")
    return float(2 * rates[keep].min())
