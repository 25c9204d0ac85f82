"""Validation of the arguments shared by the linear-attention theory functions.

Every check raises ``ValueError`` naming the argument and the rule it broke.
"""
from __future__ import annotations

import numbers

import numpy as np


def as_covariance(cov, name: str = "cov", d: int | None = None) -> np.ndarray:
    """Return ``cov`` as a float64 symmetric positive-definite (d, d) array or raise.

    Symmetry is checked to a relative tolerance of 1e-10 of the largest entry;
    positive definiteness by a Cholesky factorisation.
    """
    a = np.asarray(cov, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {a.shape}")
    if d is not None and a.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d}, {d}), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    scale = max(np.max(np.abs(a)), 1e-300)
    if np.max(np.abs(a - a.T)) > 1e-10 * scale:
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    return 0.5 * (a + a.T)


def as_psd(cov, name: str, d: int) -> np.ndarray:
    """Return ``cov`` as a symmetric positive-semidefinite (d, d) array or raise."""
    a = np.asarray(cov, dtype=np.float64)
    if a.shape != (d, d):
        raise ValueError(f"{name} must have shape ({d}, {d}), got {a.shape}")
    scale = max(np.max(np.abs(a)), 1e-300)
    if not np.all(np.isfinite(a)) or np.max(np.abs(a - a.T)) > 1e-10 * scale:
        raise ValueError(f"{name} must be finite and symmetric")
    if np.min(np.linalg.eigvalsh(0.5 * (a + a.T))) < -1e-10 * scale:
        raise ValueError(f"{name} must be positive semidefinite")
    return 0.5 * (a + a.T)


def as_count(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def as_positive(value, name: str) -> float:
    """Return ``value`` as a finite float > 0 or raise."""
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def as_nonnegative(value, name: str) -> float:
    """Return ``value`` as a finite float >= 0 or raise."""
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def as_matrix(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape or raise."""
    a = np.asarray(value, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a
