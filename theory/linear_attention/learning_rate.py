r"""A stable SGD learning rate for the full-parameter LSA network (docs/linear_attention.md §7).

The full-parameter loss has a direction the reduced flow never sees, w21^{KQ}, which enters ŷ as
u (Σ_i y_i²/N) w21ᵀ x_q. Its curvature is ≈ u*² E[(wᵀΛw)²] with u*² = ‖V*‖_F (V* = Γ⁻¹, or the random-law
minimiser), far above the reduced flow's (≈ ‖Γ‖) once d ≳ 5; SGD is stable for lr < 2/curvature, and
:func:`stable_lr` returns ``factor`` / curvature.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_covariance, as_positive
from .moments import global_minimizer
from .random_cov import RandomDiagonalCovariance


def label_fourth_moment(cov) -> float:
    """E[(wᵀΛw)²] for w ~ N(0, I): (tr Λ)² + 2 tr Λ² for a fixed Λ, and for a random diagonal law
    Σ_ij E[λ_iλ_j] E[w_i²w_j²] with E[w_i²w_j²] = 1 + 2[i = j] and E[λ_iλ_j] = m2_i on the diagonal,
    m1_i m1_j off it (independent entries).

    Parameters
    ----------
    cov : (d, d) array_like or RandomDiagonalCovariance
    """
    if isinstance(cov, RandomDiagonalCovariance):
        ell = np.outer(cov.m1, cov.m1)
        ell[np.diag_indices(cov.d)] = cov.m2
        return float(np.sum(ell * (1.0 + 2.0 * np.eye(cov.d))))
    lam = as_covariance(cov)
    return float(np.trace(lam) ** 2 + 2 * np.trace(lam @ lam))


def stable_lr(cov, N, factor: float = 1.0) -> float:
    """lr = ``factor`` / (‖V*‖_F E[(wᵀΛw)²]), V* the minimiser (module docstring).

    Parameters
    ----------
    cov : (d, d) array_like or RandomDiagonalCovariance
        Λ, or the law of a random diagonal Λ_τ.
    N : int
        Training prompt length.
    factor : float
        Fraction of the curvature bound, > 0 (SGD is stable below 2).
    """
    factor = as_positive(factor, "factor")
    vstar = cov.minimizer(N) if isinstance(cov, RandomDiagonalCovariance) else global_minimizer(cov, N)
    return float(factor / (np.linalg.norm(vstar) * label_fourth_moment(cov)))
