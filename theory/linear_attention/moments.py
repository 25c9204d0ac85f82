"""Population loss of the reduced LSA model, its gradient and its global minimiser.

Derivations: docs/linear_attention.md §2–3.
All functions take the *training* covariate covariance Λ (``cov``) and prompt length N.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_count, as_covariance, as_matrix, as_real


def gamma(cov, N) -> np.ndarray:
    r"""Γ = (1 + 1/N) Λ + (tr Λ / N) I_d  (docs/linear_attention.md §2), the matrix with E[Λ̂²] = ΓΛ.

    Parameters
    ----------
    cov : (d, d) array_like
        Covariate covariance Λ, symmetric positive definite.
    N : int
        Prompt length used in training, N >= 1.

    Returns
    -------
    (d, d) ndarray
    """
    lam = as_covariance(cov)
    N = as_count(N, "N")
    d = lam.shape[0]
    return (1.0 + 1.0 / N) * lam + (np.trace(lam) / N) * np.eye(d)


def gamma_eigenvalues(evals, N) -> np.ndarray:
    r"""g_i = (1 + 1/N) λ_i + (Σ_k λ_k)/N: Γ's eigenvalues in Λ's eigenbasis (docs/linear_attention.md §2).

    Parameters
    ----------
    evals : (d,) array
        The eigenvalues λ_i of Λ.
    N : int
        Training prompt length.
    """
    evals = np.asarray(evals, dtype=np.float64)
    return (1 + 1 / N) * evals + evals.sum() / N


def global_minimizer(cov, N) -> np.ndarray:
    """The product u·U = Γ⁻¹ at every global minimum of the reduced loss (docs/linear_attention.md §3).

    Returns
    -------
    (d, d) ndarray
        Γ⁻¹, symmetric.
    """
    g = gamma(cov, N)
    inv = np.linalg.inv(g)
    return 0.5 * (inv + inv.T)


def limiting_weights(cov, N) -> dict[str, np.ndarray]:
    r"""The limit of gradient flow from the paper's initialisation (docs/linear_attention.md §3).

    u → ‖Γ⁻¹‖_F^{1/2},  U → ‖Γ⁻¹‖_F^{-1/2} Γ⁻¹, and in full (d+1)×(d+1) weights
    W^{KQ}_* = tr(Γ⁻²)^{-1/4} [[Γ⁻¹, 0], [0, 0]],  W^{PV}_* = tr(Γ⁻²)^{1/4} e e^T.

    Returns
    -------
    dict with keys ``u`` (float), ``U`` (d, d), ``W_PV`` and ``W_KQ`` ((d+1, d+1)).
    """
    ginv = global_minimizer(cov, N)
    d = ginv.shape[0]
    fro = np.linalg.norm(ginv)  # = tr(Γ^-2)^{1/2}
    u = np.sqrt(fro)
    U = ginv / u
    W_PV = np.zeros((d + 1, d + 1))
    W_PV[d, d] = u
    W_KQ = np.zeros((d + 1, d + 1))
    W_KQ[:d, :d] = U
    return {"u": float(u), "U": U, "W_PV": W_PV, "W_KQ": W_KQ}


def minimum_loss(cov, N) -> float:
    """Global minimum of the reduced loss: ½ tr Λ − ½ tr(Λ² Γ⁻¹) (docs/linear_attention.md §3)."""
    lam = as_covariance(cov)
    return float(0.5 * np.trace(lam) - 0.5 * np.trace(lam @ lam @ global_minimizer(lam, N)))


def _uU(u, U, d):
    u = as_real(u, "u")
    U = as_matrix(U, "U", (d, d))
    return u, U


def population_loss(u, U, cov, N) -> float:
    r"""Reduced population loss L(u, U) = ½ u² tr(ΓΛUΛUᵀ) − u tr(Λ²Uᵀ) + ½ tr Λ (docs/linear_attention.md §2).

    Parameters
    ----------
    u : float
        w22 of W^{PV}.
    U : (d, d) array_like
        W11 of W^{KQ}.
    cov : (d, d) array_like
        Λ.
    N : int
        Training prompt length.
    """
    lam = as_covariance(cov)
    u, U = _uU(u, U, lam.shape[0])
    g = gamma(lam, N)
    return float(
        0.5 * u**2 * np.trace(g @ lam @ U @ lam @ U.T) - u * np.trace(lam @ lam @ U.T) + 0.5 * np.trace(lam)
    )


def population_loss_grad(u, U, cov, N) -> tuple[float, np.ndarray]:
    r"""Gradient of :func:`population_loss`: (∂L/∂u, ∂L/∂U) (docs/linear_attention.md §2, reduced ODE with
    sign flipped).

    ∂L/∂U = u² ΓΛUΛ − u Λ²,  ∂L/∂u = u tr(ΓΛUΛUᵀ) − tr(Λ²Uᵀ).

    Returns
    -------
    (float, (d, d) ndarray)
    """
    lam = as_covariance(cov)
    u, U = _uU(u, U, lam.shape[0])
    gl = gamma(lam, N) @ lam
    lam2 = lam @ lam
    gU = u**2 * gl @ U @ lam - u * lam2
    gu = u * np.trace(gl @ U @ lam @ U.T) - np.trace(lam2 @ U.T)
    return float(gu), gU


def loss_gap(V, cov, N) -> float:
    r"""L − L* written without cancellation: ½ tr(ΓΛ Δ Λ Δᵀ), Δ = V − Γ⁻¹, V = u·U.

    The reduced loss is a quadratic in V = uU with minimiser Γ⁻¹ (docs/linear_attention.md).
    """
    lam = as_covariance(cov)
    V = as_matrix(V, "V", lam.shape)
    delta = V - global_minimizer(lam, N)
    return float(0.5 * np.trace(gamma(lam, N) @ lam @ delta @ lam @ delta.T))
