r"""Reference LSA flows with exact solutions.

Isotropic Λ = λI with Θ = d^{-1/4} I: U = v I stays a multiple of I and u = √d v (conserved u² − ‖U‖² = 0),
so z = v² obeys the logistic equation dz/dt = 2√d b z − 2 d c z², b = λ², c = gλ², g = (1 + 1/N)λ + dλ/N:
z(t) = z∞ / (1 + (z∞/z0 − 1) e^{−2√d b t}), z∞ = b/(√d c), z0 = σ²/d, and u·U = √d z I → (b/c) I = Γ⁻¹.
d = 1 is the same formula.
"""

from __future__ import annotations

import numpy as np


def isotropic_exact_V(d: int, lam: float, N: int, sigma: float, t) -> np.ndarray:
    """(u·U)_ii(t) for Λ = λ I, Θ = d^{-1/4} I."""
    g = (1 + 1 / N) * lam + d * lam / N
    b, c = lam**2, g * lam**2
    z_inf = b / (np.sqrt(d) * c)
    z0 = sigma**2 / d  # U(0) = σ I/√d, so v0 = σ/√d
    z = z_inf / (1 + (z_inf / z0 - 1) * np.exp(-2 * np.sqrt(d) * b * np.asarray(t)))
    return np.sqrt(d) * z


CASES = [  # (d, λ, N, σ)
    (1, 1.0, 5, 0.3),
    (1, 2.5, 1, 0.1),
    (3, 0.7, 10, 0.5),
    (8, 1.3, 40, 0.2),
]
