"""Covariances used by the experiments and the how-to pages: a geometric spectrum and a Toeplitz matrix."""

from __future__ import annotations

import numpy as np

from ..validation import as_count, as_real


def geometric_spectrum(d, kappa) -> np.ndarray:
    """Diagonal Λ with eigenvalues geometrically spaced in [κ^{-1/2}, κ^{1/2}] (condition number κ ≥ 1).

    Returns
    -------
    (d, d) ndarray; the identity when d = 1.
    """
    d = as_count(d, "d")
    kappa = as_real(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be a number >= 1 (a condition number), got {kappa!r}")
    return np.diag(np.geomspace(kappa**-0.5, kappa**0.5, d)) if d > 1 else np.eye(1)


def toeplitz(d, rho) -> np.ndarray:
    """Λ_ij = ρ^abs(i − j) (an AR(1) covariance), positive definite for −1 < ρ < 1.

    Returns
    -------
    (d, d) ndarray
    """
    d = as_count(d, "d")
    rho = as_real(rho, "rho")
    if not -1 < rho < 1:
        raise ValueError(f"rho must be a number in (-1, 1), got {rho!r}")
    idx = np.arange(d)
    return rho ** np.abs(idx[:, None] - idx[None, :]).astype(float)
