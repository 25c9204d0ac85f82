"""Validation of the arguments of every public theory function.

Every check raises ``ValueError`` naming the argument and the rule it broke. Booleans are never numbers
(``N=True`` is rejected, not read as 1), and non-finite values are rejected everywhere.
"""

from __future__ import annotations

import numbers

import numpy as np


def _scalar(value, name: str, rule: str) -> float:
    """``value`` as a finite float, or a ValueError that names ``name`` and ``rule``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return v


def as_count(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise (integral floats such as 5.0 are accepted)."""
    rule = f"an integer >= {minimum}"
    v = _scalar(value, name, rule)
    if not v.is_integer() or v < minimum:
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return int(v)


def as_positive(value, name: str) -> float:
    """Return ``value`` as a finite float > 0 or raise."""
    v = _scalar(value, name, "a finite number > 0")
    if v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def as_nonnegative(value, name: str) -> float:
    """Return ``value`` as a finite float >= 0 or raise."""
    v = _scalar(value, name, "a finite number >= 0")
    if v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def as_real(value, name: str) -> float:
    """Return ``value`` as a finite float or raise."""
    return _scalar(value, name, "a finite number")


def as_open_unit(value, name: str) -> float:
    """Return ``value`` as a float in the open interval (0, 1) or raise."""
    v = _scalar(value, name, "a number in (0, 1)")
    if not 0 < v < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return v


def as_matrix(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape or raise."""
    a = _array(value, name)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def real_array(value) -> np.ndarray | None:
    """``value`` as a float64 array if it is a number or an array of real numbers (not booleans, not
    strings, not objects), else None."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return raw.astype(np.float64) if raw.dtype.kind in "iuf" else None


def _array(value, name: str) -> np.ndarray:
    a = real_array(value)
    if a is None:
        got = repr(value) if isinstance(value, (bool, np.bool_, str, bytes)) else type(value).__name__
        raise ValueError(f"{name} must be a numeric array, got {got}")
    return a


def _symmetric(value, name: str, d: int | None) -> tuple[np.ndarray, float]:
    a = _array(value, name)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {a.shape}")
    if d is not None and a.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d}, {d}), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    scale = max(float(np.max(np.abs(a))), 1e-300)
    if np.max(np.abs(a - a.T)) > 1e-10 * scale:
        raise ValueError(f"{name} must be symmetric")
    return 0.5 * (a + a.T), scale


def as_covariance(cov, name: str = "cov", d: int | None = None) -> np.ndarray:
    """Return ``cov`` as a float64 symmetric positive-definite (d, d) array or raise.

    Symmetry is checked to a relative tolerance of 1e-10 of the largest entry; positive definiteness by a
    Cholesky factorisation.
    """
    a, _ = _symmetric(cov, name, d)
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    return a


def as_psd(cov, name: str, d: int) -> np.ndarray:
    """Return ``cov`` as a symmetric positive-semidefinite (d, d) array or raise (eigenvalues must be
    >= −1e-10 × the largest entry)."""
    a, scale = _symmetric(cov, name, d)
    if np.min(np.linalg.eigvalsh(a)) < -1e-10 * scale:
        raise ValueError(f"{name} must be positive semidefinite")
    return a


def inverse_lengths(M, name: str = "M") -> np.ndarray:
    """1/M for prompt lengths ``M`` (an integer >= 1, ``inf`` for the limit, or a sequence of them), as an
    array of M's shape; a ValueError names the argument otherwise."""
    if isinstance(M, (str, bytes, dict, set)) or M is None:
        raise ValueError(f"{name} must be an integer >= 1, inf, or a sequence of them, got {M!r}")
    arr = np.atleast_1d(np.asarray(M, dtype=object))
    inv = []
    for m in arr.ravel():
        if isinstance(m, (float, np.floating)) and np.isinf(m) and m > 0:
            inv.append(0.0)
        else:
            inv.append(1.0 / as_count(m, name))
    return np.array(inv).reshape(arr.shape)
