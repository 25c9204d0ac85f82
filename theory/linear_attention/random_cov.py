r"""Random covariance per prompt (docs/linear_attention.md §6): moments of a diagonal law Λ_τ = diag(λ_τ).

With diagonal Λ_τ the expected flow is elementwise (docs/linear_attention.md §6):
E[Γ_τ Λ_τ U Λ_τ]_ij = C_ij U_ij with C = (1 + 1/N) P + T/N, P_ij = E[λ_i² λ_j], T_ij = E[λ_i λ_j Σ_k λ_k],
and E[Λ_τ²] = diag(m2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import as_count, as_matrix, as_positive, inverse_lengths


@dataclass(frozen=True)
class RandomDiagonalCovariance:
    """Moments of a random diagonal covariance that the §6 flow needs.

    Attributes
    ----------
    P : (d, d) ndarray, E[λ_i² λ_j]
    T : (d, d) ndarray, E[λ_i λ_j Σ_k λ_k]
    m1 : (d,) ndarray, E[λ_i]
    m2 : (d,) ndarray, E[λ_i²]
    m3 : (d,) ndarray, E[λ_i³]
    """

    P: np.ndarray
    T: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    m3: np.ndarray

    @property
    def d(self) -> int:
        return self.m1.shape[0]

    @classmethod
    def from_samples(cls, samples) -> RandomDiagonalCovariance:
        """Monte Carlo moments from an (n, d) array of positive diagonal entries."""
        lam = np.asarray(samples, dtype=np.float64)
        if lam.ndim != 2 or lam.shape[0] < 2:
            raise ValueError(f"samples must be an (n, d) array with n >= 2, got shape {lam.shape}")
        if not np.all(lam > 0):
            raise ValueError("samples must be positive (diagonal covariance entries)")
        n = lam.shape[0]
        tot = lam.sum(axis=1)
        P = (lam**2).T @ lam / n
        T = (lam * tot[:, None]).T @ lam / n
        return cls(P, T, lam.mean(0), (lam**2).mean(0), (lam**3).mean(0))

    @classmethod
    def iid(cls, d: int, m1: float, m2: float, m3: float) -> RandomDiagonalCovariance:
        """Exact moments for iid entries with raw moments m1, m2, m3."""
        d = as_count(d, "d")
        for name, v in (("m1", m1), ("m2", m2), ("m3", m3)):
            as_positive(v, name)
        eye = np.eye(d)
        P = np.where(eye > 0, m3, m2 * m1)
        # i = j: E[λ_i² Σ_k λ_k] = m3 + (d−1) m2 m1; i ≠ j: 2 m1 m2 + (d−2) m1³
        T = np.where(eye > 0, m3 + (d - 1) * m2 * m1, 2 * m1 * m2 + (d - 2) * m1**3)

        def full(v):
            return np.full(d, float(v))

        return cls(P.astype(float), T.astype(float), full(m1), full(m2), full(m3))

    @classmethod
    def exponential(cls, d: int, scale: float = 1.0) -> RandomDiagonalCovariance:
        """Entries iid Exp(mean = scale): m_k = k! scale^k (the paper's Exp(1) example)."""
        s = as_positive(scale, "scale")
        return cls.iid(d, s, 2 * s**2, 6 * s**3)

    def C(self, N) -> np.ndarray:
        """(d, d) coefficient matrix C_ij = E[(Γ_τ)_ii λ_i λ_j] = (1 + 1/N) P_ij + T_ij / N."""
        N = as_count(N, "N")
        return (1.0 + 1.0 / N) * self.P + self.T / N

    def minimizer(self, N) -> np.ndarray:
        """u·U = (E[Γ_τ Λ_τ²])⁻¹ E[Λ_τ²] (docs/linear_attention.md §6): diagonal with entries m2_i / C_ii."""
        return np.diag(self.m2 / np.diag(self.C(N)))

    def limit_coefficient(self) -> np.ndarray:
        r"""(E Λ²)(E Λ³)⁻¹(E Λ) (docs/linear_attention.md §6): lim_{M,N→∞} of E[ŷ] = x_qᵀ (this) w; 1/3 for
        Exp(1)."""
        return np.diag(self.m2 / self.m3 * self.m1)

    def expected_risk(self, V, M, scale: float = 1.0):
        r"""E over Λ_new = scale·Λ_τ of the exact risk (docs/linear_attention.md §4) of ŷ = x_qᵀ V ĥ_M on a
        fresh prompt whose covariates and query both have covariance Λ_new (w ~ N(0, I), no noise), for a
        diagonal V = diag(v) (the minimisers of docs §6 are diagonal).

        With S = Q = diag(s), A = diag(v² s), the risk is (1 + 1/M) Σ v_i² s_i³ + (1/M)(Σ_j v_j² s_j²)(Σ_i
        s_i)
        − 2 Σ v_i s_i² + Σ s_i; its mean over independent entries with raw moments m_k (times scale^k) is
        (1 + 1/M) Σ v_i² m3_i + (1/M) Σ_j v_j² (m3_j + m2_j Σ_{i≠j} m1_i) − 2 Σ v_i m2_i + Σ m1_i.

        Parameters
        ----------
        V : (d, d) array_like, diagonal
        M : int, inf, or sequence of them
        scale : float
            Test covariances are ``scale`` times draws of this law (c·diag(Exp(1)) for the Exp law).

        Returns
        -------
        float, or an array of the shape of ``M``
        """
        V = as_matrix(V, "V", (self.d, self.d))
        if np.any(V != np.diag(np.diag(V))):
            raise ValueError("V must be diagonal")
        c = as_positive(scale, "scale")
        v = np.diag(V)
        m1, m2, m3 = self.m1 * c, self.m2 * c**2, self.m3 * c**3
        inv_M = inverse_lengths(M)
        cross = np.sum(v**2 * (m3 + m2 * (m1.sum() - m1)))
        out = np.sum(v**2 * m3) * (1 + inv_M) + inv_M * cross - 2 * np.sum(v * m2) + m1.sum()
        return float(out.ravel()[0]) if np.ndim(M) == 0 else out
