r"""Closed-form predictor and exact prediction risk (docs/linear_attention.md §3–5).

The trained LSA predicts ŷ = x_qᵀ V ĥ_M, ĥ_M = (1/M) Σ_{i≤M} y_i x_i, with V = Γ⁻¹ at the global minimum.
"""

from __future__ import annotations

import numpy as np

from ..validation import (
    as_count,
    as_covariance,
    as_matrix,
    as_nonnegative,
    as_psd,
    inverse_lengths,
    real_array,
)
from .moments import global_minimizer


def predict(V, X, y, x_query) -> np.ndarray:
    r"""Closed-form LSA prediction ŷ = x_qᵀ V (1/M) Σ_i y_i x_i for prompts of any length M
    (docs/linear_attention.md §3).

    Parameters
    ----------
    V : (d, d) array_like
        The trained product u·U (Γ⁻¹ at the global minimum).
    X : (..., M, d) array_like
        Prompt covariates.
    y : (..., M) array_like
        Prompt labels.
    x_query : (..., d) array_like
        Query covariates.

    Returns
    -------
    (...) ndarray
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2 or X.shape[-2] < 1:
        raise ValueError(f"X must have shape (..., M, d) with M >= 1, got {X.shape}")
    d = X.shape[-1]
    V = as_matrix(V, "V", (d, d))
    y = np.asarray(y, dtype=np.float64)
    if y.shape != X.shape[:-1]:
        raise ValueError(f"y must have shape {X.shape[:-1]} to match X, got {y.shape}")
    xq = np.asarray(x_query, dtype=np.float64)
    if xq.shape != X.shape[:-2] + (d,):
        raise ValueError(f"x_query must have shape {X.shape[:-2] + (d,)}, got {xq.shape}")
    h = np.einsum("...m,...md->...d", y, X) / X.shape[-2]
    return np.einsum("...d,de,...e->...", xq, V, h)


def test_risk(V, M, *, test_cov, query_cov=None, task_cov=None, noise_var=0.0, target_noise=False):
    r"""Exact risk E(ŷ − wᵀx_q)² of ŷ = x_qᵀ V ĥ_M at finite M under every shift
    (docs/linear_attention.md §4).

    R = tr(W [(1 + 1/M) S A S + (1/M) tr(AS) S − S Vᵀ Q − Q V S + Q]) + (s²/M) tr(AS),  A = Vᵀ Q V,
    plus s² if the target carries its own label noise. R is affine in 1/M; M = inf gives the limit.

    Parameters
    ----------
    V : (d, d) or (..., d, d) array_like
        Predictor matrix (Γ⁻¹ of the training distribution after training), or a stack of them.
    M : int, inf, or sequence of them
        Test prompt length(s), each >= 1 (or ``numpy.inf`` for the M → ∞ limit).
    test_cov : (d, d) array_like
        S, covariance of the prompt covariates x_i (positive definite).
    query_cov : (d, d) array_like, optional
        Q, covariance of x_q (positive semidefinite); default S.
    task_cov : (d, d) array_like, optional
        W, covariance of w (positive semidefinite; a fixed task w is W = w wᵀ); default I.
    noise_var : float
        s² >= 0, label-noise variance of the prompt labels.
    target_noise : bool
        Score against y_q = wᵀx_q + noise instead of wᵀx_q.

    Returns
    -------
    float for one V and one M; else an array of shape V.shape[:-2] + shape of M.
    """
    S = as_covariance(test_cov, "test_cov")
    d = S.shape[0]
    Vs = real_array(V)
    if Vs is None or Vs.ndim < 2 or Vs.shape[-2:] != (d, d) or not np.all(np.isfinite(Vs)):
        raise ValueError(f"V must be a finite (d, d) matrix or a stack (..., d, d) with d = {d}")
    inv_M = inverse_lengths(M)
    Q = S if query_cov is None else as_psd(query_cov, "query_cov", d)
    W = np.eye(d) if task_cov is None else as_psd(task_cov, "task_cov", d)
    s2 = as_nonnegative(noise_var, "noise_var")
    if not isinstance(target_noise, (bool, np.bool_)):
        raise ValueError(f"target_noise must be True or False, got {target_noise!r}")
    Vt = np.swapaxes(Vs, -1, -2)
    A = Vt @ Q @ Vs
    tAS = np.einsum("...ij,ji->...", A, S)
    SAS = S @ A @ S
    base = np.einsum("ij,...ji->...", W, SAS - S @ Vt @ Q - Q @ Vs @ S + Q) + (s2 if target_noise else 0.0)
    coef = np.einsum("ij,...ji->...", W, SAS) + tAS * np.trace(W @ S) + s2 * tAS
    R = base[..., None] + coef[..., None] * inv_M.ravel()
    R = R.reshape(Vs.shape[:-2] + inv_M.shape)
    if Vs.ndim == 2 and np.ndim(M) == 0:
        return float(R.ravel()[0])
    return R


def isotropic_risk(d, N, M) -> float:
    r"""Isotropic special case of docs/linear_attention.md §4: R = d(d+1)/(Mγ²) + d(d+1)²/(N²γ²),
    γ = 1 + (d+1)/N."""
    d, N, M = as_count(d, "d"), as_count(N, "N"), as_count(M, "M")
    g = 1 + (d + 1) / N
    return d * (d + 1) / (M * g**2) + d * (d + 1) ** 2 / (N**2 * g**2)


def theorem42_decomposition(cov, N, M, *, a, Sigma, best_linear_error=0.0) -> dict[str, float]:
    r"""The paper's Theorem 4.2 decomposition of the error E(ŷ − y_q)² (docs/linear_attention.md §4).

    error = best-linear error + (1/M) tr(Σ Γ⁻² Λ) + (1/N²) [‖a‖²_{Γ⁻²Λ³} + 2 tr(Λ) ‖a‖²_{Γ⁻²Λ²}
    + tr(Λ)² ‖a‖²_{Γ⁻²Λ}], for any joint law of (x, y) with x ~ N(0, Λ), a = Λ⁻¹E[xy], Σ = Cov(xy) and
    V = Γ⁻¹.

    It is an identity: docs/linear_attention.md §4 derives it from the exact risk.

    Returns
    -------
    dict with ``best_linear``, ``variance`` (the 1/M term), ``bias`` (the 1/N² term), ``total``.
    """
    lam = as_covariance(cov)
    d = lam.shape[0]
    a = as_matrix(a, "a", (d,))
    Sigma = as_psd(Sigma, "Sigma", d)
    M = as_count(M, "M")
    N = as_count(N, "N")
    ginv2 = np.linalg.matrix_power(global_minimizer(lam, N), 2)
    t = np.trace(lam)

    def norm(B):
        return float(a @ B @ a)

    variance = float(np.trace(Sigma @ ginv2 @ lam)) / M
    bias = (norm(ginv2 @ lam @ lam @ lam) + 2 * t * norm(ginv2 @ lam @ lam) + t**2 * norm(ginv2 @ lam)) / N**2
    best = as_nonnegative(best_linear_error, "best_linear_error")
    return {"best_linear": best, "variance": variance, "bias": bias, "total": best + variance + bias}


def risk_bound(cov, N, M) -> float:
    r"""The paper's bound on the excess error for w ~ N(0, I): (d+1) tr Λ / M + (1 + 2d + d²κ) tr Λ / N²."""
    lam = as_covariance(cov)
    d = lam.shape[0]
    N, M = as_count(N, "N"), as_count(M, "M")
    ev = np.linalg.eigvalsh(lam)
    t = ev.sum()
    return float((d + 1) * t / M + (1 + 2 * d + d**2 * ev[-1] / ev[0]) * t / N**2)
