"""Random streams derived from one seed (a batch is a function of (seed, step) only), and standard normals
drawn from them in the batch's dtype."""

from __future__ import annotations

import math
import zlib

import numpy as np


def batch_rng(seed: int, step: int) -> np.random.Generator:
    """Generator for the training batch at ``step`` of the run with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0, int(step))))


def stream_rng(seed: int, name: str) -> np.random.Generator:
    """Generator for a named auxiliary stream (evaluation set, initialisation, Monte Carlo...)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1, zlib.crc32(name.encode()))))


def _is_size(s) -> bool:
    return isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) and s >= 0


def float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as numpy's float32 or float64 dtype, else a ValueError naming ``name``."""
    try:
        dt = np.dtype(dtype) if dtype is not None and not isinstance(dtype, bool) else None
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dtype!r}")
    return dt


def standard_normal(rng: np.random.Generator, shape, dtype=np.float64) -> np.ndarray:
    """Standard normals of ``shape`` in ``dtype`` from ``rng``.

    float64: numpy's ziggurat (``rng.standard_normal``). float32: the Box–Muller transform of float32
    uniforms, z = √(−2 ln(1 − U₁)) (cos 2πU₂, sin 2πU₂), U₁, U₂ ~ U[0, 1) on numpy's 2⁻²⁴ grid, the
    cosines filling the first half of the output and the sines the second. It is exact up to that grid:
    |z| ≤ √(48 ln 2) = 5.77, which cuts the tails P(|Z| > 5.77) = 8e-9. Vectorised in float32 it
    takes a third of numpy's ziggurat time on this machine (benchmarks/bench_sampling.py); the
    classification batches draw their item noise and novel-class means with it (docs/induction_head.md §1).

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : int or tuple of int
    dtype : float32 or float64 (anything else is refused, as numpy refuses it)

    Returns
    -------
    ndarray of ``shape`` and ``dtype``
    """
    dtype = float_dtype(dtype)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(dims, (tuple, list)) or not all(_is_size(s) for s in dims):
        raise ValueError(f"shape must be a size or a tuple of sizes >= 0, got {shape!r}")
    if dtype == np.float64:
        return rng.standard_normal(shape)
    n = math.prod(dims)
    h = (n + 1) // 2
    u = rng.random((2, h), dtype=np.float32)
    r = np.log1p(-u[0])
    r *= -2
    np.sqrt(r, out=r)
    theta = u[1]
    theta *= np.float32(2 * np.pi)
    z = np.empty(2 * h, dtype=np.float32)
    np.cos(theta, out=z[:h])
    np.sin(theta, out=z[h:])
    z[:h] *= r
    z[h:] *= r
    return z[:n].reshape(shape)
