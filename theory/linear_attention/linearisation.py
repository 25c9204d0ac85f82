r"""The reduced flow linearised at its limit: the rate at which the loss gap finally decays.

In Λ's eigenbasis the reduced loss is Σ_i ½u²c_i v_i² − u b_i v_i + Σ_{i≠j} ½u²c_ij v_ij² + ½ tr Λ
(docs/linear_attention.md §2; c_i = g_iλ_i², b_i = λ_i², c_ij = g_iλ_iλ_j). Near a minimum (u*, v*) gradient
flow is δ' = −H δ with H the Hessian in (u, v_1 … v_d), block-diagonal with the off-diagonal modes (u*²c_ij).
H has one zero eigenvalue, along the curve of minima u v_i = b_i / c_i, which the conserved u² − ‖U‖² pins;
the gap ½ δᵀHδ then decays as e^{−2λt}, λ the smallest positive eigenvalue among the modes the deviation
holds. Unlike the paper's PL rate (a lower bound that may be loose by orders of magnitude), this rate is an
asymptotic equality, so a check against it can fail.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_count, as_covariance, as_matrix, as_real


def tail_rate(cov, N, u_now, U_now, u_end, U_end, *, present: float = 1e-3) -> float:
    """Predicted asymptotic decay rate of the loss gap, from a state near the limit.

    Parameters
    ----------
    cov : (d, d) array_like
        Λ.
    N : int
    u_now, U_now : float, (d, d) array_like
        A state at the start of the tail (the deviation from the limit is read from it).
    u_end, U_end : float, (d, d) array_like
        The limit (the end of an integrated trajectory).
    present : float
        A mode counts as present when it holds at least this fraction of the deviation's squared norm.

    Returns
    -------
    float
        2λ, λ the smallest positive Hessian eigenvalue among the present modes.
    """
    lam = as_covariance(cov)
    N = as_count(N, "N")
    d = lam.shape[0]
    evals, Q = np.linalg.eigh(lam)
    g = (1 + 1 / N) * evals + evals.sum() / N
    c, b = g * evals**2, evals**2
    u, U = as_real(u_end, "u_end"), Q.T @ as_matrix(U_end, "U_end", (d, d)) @ Q
    u0, U0 = as_real(u_now, "u_now"), Q.T @ as_matrix(U_now, "U_now", (d, d)) @ Q
    v = np.diag(U)
    H = np.zeros((d + 1, d + 1))
    H[0, 0] = np.sum(c * v**2)
    H[0, 1:] = H[1:, 0] = 2 * u * c * v - b
    H[1:, 1:] = np.diag(u**2 * c)
    w, vec = np.linalg.eigh(H)
    delta = np.concatenate([[u0 - u], np.diag(U0) - v])
    weights = (vec.T @ delta) ** 2
    off = ~np.eye(d, dtype=bool)
    c_off = (g * evals)[:, None] * evals[None, :]
    off_rates, off_weights = u**2 * c_off[off], (U0 - U)[off] ** 2
    rates = np.concatenate([w, off_rates])
    weights = np.concatenate([weights, off_weights])
    total = weights.sum()
    keep = (rates > 1e-4 * rates.max()) & (weights >= present * total)
    if not np.any(keep):
        raise ValueError("the state is at the limit already: no deviation to decay")
    return float(2 * rates[keep].min())
