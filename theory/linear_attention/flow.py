r"""Gradient flow of the reduced LSA loss (docs/linear_attention.md §2), integrated with ``solve_ivp``.

Two paths (docs/linear_attention.md §2, "The two integrators"):

* ``path="eigen"`` (default, fast): in Λ's eigenbasis the loss is a sum of scalar modes
  (:func:`theory.linear_attention.symbolic.mode_decomposition`). The d diagonal modes are integrated
  with the sympy-derived gradient and Jacobian; the off-diagonal modes decay in closed form,
  Ũ_ij = Ũ_ij(0) e^{−C_ij τ}, with τ' = u². State (u, Ũ_11 … Ũ_dd, τ): d + 2 numbers. Its Jacobian is
  an *arrow*: a full row and column for u, a diagonal for the Ũ_ii, and the (u, τ) pair. Solvers:
  LSODA with that Jacobian dense for d <= 200; above, DOP853 (no Jacobian) when the stiffness of the modes
  allows few explicit steps (:func:`_explicit_steps`), else BDF with the Jacobian as a sparse matrix
  (3d + 3 non-zeros, factorised by SuperLU in O(d)).
* ``path="dense"`` (reference): the d² + 1 equations dU/dt = −u²ΓΛUΛ + uΛ², du/dt = −u tr(ΓΛUΛUᵀ)
  + tr(Λ²Uᵀ), explicit DOP853, no assumption on the basis.

Results are lazy (:class:`FlowResult`): the integrator's state is kept at its steps (for the eigen path,
the d + 2 eigen-coordinates), and u·U, the loss gap and the dense U are rebuilt only at the times a caller
asks for. The work of the eigen path is one ``eigh`` of Λ (none when Λ is diagonal) plus O(d + K) per
evaluation of the right-hand side, K being the number of non-zero off-diagonal entries of QᵀΘΘᵀQ (K = 0
for the default Θ = d^{-1/4} I, or any Θ whose ΘΘᵀ commutes with Λ).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.sparse as sps

from ..ode import event, event_time, integrate
from ..validation import as_count, as_covariance, as_positive
from .moments import gamma, gamma_eigenvalues
from .random_cov import RandomDiagonalCovariance
from .symbolic import mode_functions

_KEEP = 1e-13
"""An off-diagonal entry of Ũ(0) = QᵀU(0)Q below this fraction of its largest entry is rounding from the
change of basis, not a mode."""

_LSODA_MAX_D = 200
"""Default eigen-path solver up to this d: LSODA with the dense (d + 2)² Jacobian. Above it LSODA's work
array alone holds (d + 2)² numbers (800 MB at d = 10⁴) and each of its refactorisations costs d³/3, so
the default is chosen by :func:`_explicit_steps` (benchmarks/bench_lsa_flow.py has the measurements)."""

_EXPLICIT_MAX_STEPS = 2000
"""Above this many predicted stability-limited steps, DOP853 gives way to BDF with the sparse Jacobian."""


class ConvergenceConditionWarning(UserWarning):
    """σ violates the paper's condition σ² ‖Γ‖_op √d < 2 (convergence not guaranteed)."""


def default_theta(d: int) -> np.ndarray:
    """Θ = d^{-1/4} I, so that ΘΘᵀ = I/√d has unit Frobenius norm (docs/linear_attention.md §1)."""
    d = as_count(d, "d")
    return np.eye(d) * d**-0.25


def convergence_margin(cov, N, sigma) -> float:
    """σ² ‖Γ‖_op √d; the paper's convergence condition is that this is < 2 (Zhang et al., Theorem 4.1)."""
    lam = as_covariance(cov)
    s = as_positive(sigma, "sigma")
    return float(s**2 * np.linalg.norm(gamma(lam, N), 2) * np.sqrt(lam.shape[0]))


def paper_sigma(cov, N, factor: float = 1.0) -> float:
    """The initial scale σ with σ² ‖Γ‖_op √d = ``factor`` (:func:`convergence_margin` solved for σ).

    The paper's convergence condition asks ``factor`` < 2; :func:`integrate_flow` uses ``factor`` = 1 when
    no σ is given.
    """
    lam = as_covariance(cov)
    f = as_positive(factor, "factor")
    return float(np.sqrt(f / (np.linalg.norm(gamma(lam, N), 2) * np.sqrt(lam.shape[0]))))


def pl_rate(cov, N, sigma, theta=None) -> float:
    r"""The paper's PL rate μ, gap(t) ≤ e^{−μt} gap(0) (Zhang et al., Theorem 4.1; our reading):

    μ = σ² ‖ΛΘ‖_F² (2 − √d σ² ‖Γ‖_op) / (√d ‖Λ‖_op² tr(Γ⁻¹Λ⁻¹) tr(Λ⁻¹)). Non-positive when the
    convergence condition fails.
    """
    lam = as_covariance(cov)
    d = lam.shape[0]
    s = as_positive(sigma, "sigma")
    th = _theta_factor(d, theta)
    th = default_theta(d) if th is None else th
    g = gamma(lam, N)
    lam_inv = np.linalg.inv(lam)
    num = s**2 * np.linalg.norm(lam @ th) ** 2 * (2 - np.sqrt(d) * s**2 * np.linalg.norm(g, 2))
    den = np.sqrt(d) * np.linalg.norm(lam, 2) ** 2 * np.trace(np.linalg.inv(g) @ lam_inv) * np.trace(lam_inv)
    return float(num / den)


# --------------------------------------------------------------------------- the problem in Λ's eigenbasis
class _Problem:
    """Everything the two paths need, computed from Λ's spectrum without d × d products where possible.

    ``Q`` is None when Λ is diagonal (the eigenbasis is the standard basis). ``cd`` and ``b`` are the
    diagonal modes' coefficients c_i = C_ii and b_i (docs/linear_attention.md §2); ``pair(rows, cols)``
    gives C_ij for off-diagonal modes.
    """

    def __init__(self, cov, N):
        self.law = cov if isinstance(cov, RandomDiagonalCovariance) else None
        self.N = N
        if self.law is not None:
            law = self.law
            self.d, self.Q, self.evals = law.d, None, None
            self.cd = np.diagonal(law.C(N)).copy()
            self.b = np.asarray(law.m2, dtype=np.float64)
            self.const = 0.5 * float(np.sum(law.m1))
            self.sigma_evals = np.asarray(law.m1, dtype=np.float64)  # Γ of the mean diag(E λ) sets σ
            self.lam = None
        else:
            self.evals, self.Q, self.lam = _spectrum(cov)
            self.d = len(self.evals)
            self.g = gamma_eigenvalues(self.evals, N)
            self.cd = self.g * self.evals**2
            self.b = self.evals**2
            self.const = 0.5 * float(self.evals.sum())
            self.sigma_evals = self.evals
        self.min_loss = self.const - 0.5 * float(np.sum(self.b**2 / self.cd))

    def pair(self, rows, cols):
        if self.law is not None:
            return self.law.C(self.N)[rows, cols]
        return self.g[rows] * self.evals[rows] * self.evals[cols]

    def gamma_op(self, evals):
        """‖Γ‖_op = max_i g_i for Γ = (1 + 1/N) diag(evals) + (Σ evals / N) I."""
        return float(np.max(gamma_eigenvalues(evals, self.N)))

    def minimizer(self):
        if self.law is not None:
            return self.law.minimizer(self.N)
        if self.Q is None:
            return np.diag(1.0 / self.g)
        m = (self.Q / self.g) @ self.Q.T
        return 0.5 * (m + m.T)

    def dense_cov(self):
        return np.diag(self.evals) if self.lam is None else self.lam


def _spectrum(cov):
    """(eigenvalues, eigenvectors or None, the dense Λ or None) of a covariance: a diagonal Λ is read off
    its diagonal (no ``eigh``, no d × d temporary), any other symmetric positive-definite Λ goes through
    :func:`theory.validation.as_covariance` and ``eigh``."""
    a = None if isinstance(cov, (bool, np.bool_, str, bytes)) else np.asarray(cov)
    square = a is not None and a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] >= 1
    if square and a.dtype.kind in "fiu":
        d = a.shape[0]
        diag = np.array(np.diagonal(a), dtype=np.float64)
        flat = np.ascontiguousarray(a).reshape(-1)
        off = flat[1:].reshape(d - 1, d + 1)[:, :d] if d > 1 else flat[:0]  # a view of the off-diagonal
        if np.all(np.isfinite(diag)) and not np.any(off):
            if np.min(diag) <= 0:
                raise ValueError("cov must be positive definite")
            return diag, None, None
    lam = as_covariance(cov)
    evals, Q = np.linalg.eigh(lam)
    return evals, Q, lam


def _theta_factor(d, theta):
    """Θ as a validated (d, k) array with ‖ΘΘᵀ‖_F = ‖ΘᵀΘ‖_F = 1, or None for the default d^{-1/4} I."""
    if theta is None:
        return None
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim != 2 or th.shape[0] != d:
        raise ValueError(f"theta must be a (d, k) matrix with d = {d}, got shape {th.shape}")
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite")
    norm = np.linalg.norm(th.T @ th)  # ‖ΘΘᵀ‖_F, from the k × k Gram matrix
    if abs(norm - 1.0) > 1e-8:
        raise ValueError(f"theta must satisfy ||theta theta^T||_F = 1, got {norm:.6g}")
    return th


# --------------------------------------------------------------------------- eigen path
class _EigenModes:
    r"""The flow in eigen-coordinates y = (u, v_1 … v_d, τ), v_i = Ũ_ii (docs/linear_attention.md §2).

    Off-diagonal modes (rows r, columns s, coefficients c, initial values v0; K of them) enter only
    through τ. The Jacobian is the arrow [[J_uu, J_uv, J_uτ], [J_vu, diag(J_vv), 0], [2u, 0, 0]].
    """

    def __init__(self, prob: _Problem, v0_diag, off):
        self.f = mode_functions()
        self.prob = prob
        self.d = prob.d
        self.cd, self.b = prob.cd, prob.b
        self.rows, self.cols, self.c_off, self.v0_off = off
        self.y0_diag = v0_diag
        d = self.d
        # CSC pattern of the arrow by columns: 0 -> rows 0..d+1; i -> rows (0, i); d+1 -> row 0
        self._indptr = np.concatenate([[0], d + 2 + 2 * np.arange(d + 1), [3 * d + 3]]).astype(np.int64)
        inner = np.empty(2 * d, dtype=np.int64)
        inner[0::2] = 0
        inner[1::2] = np.arange(1, d + 1)
        self._indices = np.concatenate([np.arange(d + 2), inner, [0]]).astype(np.int64)

    @property
    def n_off(self) -> int:
        return len(self.c_off)

    def initial_state(self, sigma):
        return np.concatenate([[sigma], self.y0_diag, [0.0]])

    def rhs(self, t, y):
        d, f = self.d, self.f
        u, v, tau = y[0], y[1 : d + 1], y[d + 1]
        gu, gv = f["grad_diag"](u, v, self.cd, self.b)
        du = -np.sum(gu)
        if self.n_off:
            du -= np.sum(f["off_du"](u, tau, self.c_off, self.v0_off))
        return np.concatenate([[du], -gv, [u * u]])

    def _arrow(self, y):
        """(J_uu, J_uv = J_vu (d,), diag J_vv (d,), J_uτ, J_τu) of the sympy Hessians."""
        d, f = self.d, self.f
        u, v, tau = y[0], y[1 : d + 1], y[d + 1]
        huu, huv, hvv = f["hess_diag"](u, v, self.cd, self.b)
        juu = -np.sum(huu * np.ones(d))
        jut = 0.0
        if self.n_off:
            juu -= np.sum(f["off_du_du"](u, tau, self.c_off, self.v0_off))
            jut = -np.sum(f["off_du_dtau"](u, tau, self.c_off, self.v0_off))
        return juu, -huv * np.ones(d), -hvv * np.ones(d), jut, 2 * u

    def jac_dense(self, t, y):
        d = self.d
        juu, juv, jvv, jut, jtu = self._arrow(y)
        J = np.zeros((d + 2, d + 2))
        J[0, 0], J[0, d + 1], J[d + 1, 0] = juu, jut, jtu
        J[0, 1 : d + 1] = juv
        J[1 : d + 1, 0] = juv
        J[np.arange(1, d + 1), np.arange(1, d + 1)] = jvv
        return J

    def jac_sparse(self, t, y):
        d = self.d
        juu, juv, jvv, jut, jtu = self._arrow(y)
        data = np.empty(3 * d + 3)
        data[0], data[1 : d + 1], data[d + 1] = juu, juv, jtu
        data[d + 2 : 3 * d + 2 : 2] = juv
        data[d + 3 : 3 * d + 3 : 2] = jvv
        data[3 * d + 2] = jut
        return sps.csc_matrix((data, self._indices, self._indptr), shape=(d + 2, d + 2))

    def _off_sum(self, fn, u, tau):
        """Σ over off-diagonal modes of a lambdified f(u, τ, c, v0), for each row of (u, τ)."""
        out = np.zeros(len(u))
        if self.n_off:
            for k in range(len(u)):
                out[k] = np.sum(fn(u[k], tau[k], self.c_off, self.v0_off))
        return out

    def gap(self, Y):
        """(n,) loss gaps of the states Y (n, d + 2): Σ ½c_i(uv_i − b_i/c_i)² + Σ_off ½u²c v0² e^{−2cτ}."""
        Y = np.atleast_2d(Y)
        d, f = self.d, self.f
        out = np.empty(len(Y))
        for lo in range(0, len(Y), 256):  # bounded temporaries at large d
            blk = Y[lo : lo + 256]
            out[lo : lo + 256] = np.sum(f["gap_diag"](blk[:, :1], blk[:, 1 : d + 1], self.cd, self.b), axis=1)
        return out + self._off_sum(f["gap_off"], Y[:, 0], Y[:, d + 1])

    def frob_sq(self, Y):
        """(n,) ‖U‖_F² = Σ v_i² + Σ_off v0² e^{−2cτ} (the basis change is orthogonal)."""
        Y = np.atleast_2d(Y)
        d = self.d
        out = np.einsum("ij,ij->i", Y[:, 1 : d + 1], Y[:, 1 : d + 1])
        if self.n_off:
            w = self.v0_off**2
            for k in range(len(Y)):
                out[k] += np.sum(w * np.exp(-2 * self.c_off * Y[k, d + 1]))
        return out

    def V_modes(self, Y):
        """(n, d) diagonal of u·U in Λ's eigenbasis, u v_i."""
        Y = np.atleast_2d(Y)
        return Y[:, :1] * Y[:, 1 : self.d + 1]

    def U_dense(self, y):
        """(d, d) U = Q Ũ Qᵀ at one state."""
        d, Q = self.d, self.prob.Q
        v, tau = y[1 : d + 1], y[d + 1]
        if self.n_off == 0:
            return np.diag(v) if Q is None else (Q * v) @ Q.T
        Ut = np.diag(v)
        Ut[self.rows, self.cols] = self.v0_off * np.exp(-self.c_off * tau)
        return Ut if Q is None else Q @ Ut @ Q.T


def _eigen_modes(prob: _Problem, sigma, th) -> _EigenModes:
    """The eigen model with Ũ(0) = σ QᵀΘΘᵀQ, formed without the d × d product when Θ is the default."""
    d = prob.d
    empty = (np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), np.zeros(0))
    if th is None:  # ΘΘᵀ = I/√d commutes with every Q: Ũ(0) = σ I/√d exactly
        return _EigenModes(prob, np.full(d, sigma / np.sqrt(d)), empty)
    B = th if prob.Q is None else prob.Q.T @ th  # Ũ(0) = σ B Bᵀ
    v0_diag = sigma * np.einsum("ij,ij->i", B, B)
    Ut0 = sigma * (B @ B.T)
    np.fill_diagonal(Ut0, 0.0)
    scale = max(float(np.max(np.abs(v0_diag))), float(np.max(np.abs(Ut0))))
    rows, cols = np.nonzero(np.abs(Ut0) > _KEEP * scale)
    if len(rows) == 0:
        return _EigenModes(prob, v0_diag, empty)
    return _EigenModes(prob, v0_diag, (rows, cols, prob.pair(rows, cols), Ut0[rows, cols]))


def _explicit_steps(model: _EigenModes, sigma, t_max, gap_tol) -> float:
    r"""Predicted number of steps an explicit method (DOP853) needs, limited by stability alone.

    The stiff eigenvalues of the Jacobian are −u²c_i (docs/linear_attention.md §2), and DOP853 is stable
    for h u² c_max ≲ 6, so it needs about c_max τ_end / 6 steps, τ = ∫u² dt. The slowest mode decays as
    e^{−c_min τ}; the gap falls from gap(0) to ``gap_tol`` by τ_end ≈ ln(gap(0)/gap_tol) / (2 c_min),
    never beyond t_max · max(σ², u_∞²), u_∞² the limit of u² from the conserved u² − ‖U‖_F² and
    ‖u·U‖_F → ‖V*‖_F. A guide for choosing the method only: accuracy never depends on it.
    """
    cd, b = model.cd, model.b
    y0 = model.initial_state(sigma)
    kappa0 = float(sigma**2 - model.frob_sq(y0)[0])
    v_star = float(np.sum((b / cd) ** 2))
    u_inf2 = 0.5 * (kappa0 + np.sqrt(kappa0**2 + 4 * v_star))
    tau_end = t_max * max(sigma**2, u_inf2)
    if gap_tol is not None:
        gap0 = max(float(model.gap(y0)[0]), gap_tol)
        tau_end = min(tau_end, np.log(gap0 / gap_tol) / (2 * np.min(cd)))
    return float(np.max(cd) * tau_end / 6.0)


# --------------------------------------------------------------------------- dense path
class _DenseFlow:
    """The d² + 1 matrix equations in the original basis (reference)."""

    def __init__(self, prob: _Problem, sigma, th):
        d = self.d = prob.d
        self.prob = prob
        self.U0 = (sigma / np.sqrt(d)) * np.eye(d) if th is None else sigma * (th @ th.T)
        self.target = np.diag(prob.b / prob.cd)  # minimiser in the eigenbasis
        if prob.law is not None:
            self.C = prob.law.C(prob.N)
        else:
            lam = prob.dense_cov()
            G = gamma(lam, prob.N)
            self.GL, self.lam, self.lam2 = G @ lam, lam, lam @ lam
            ev = prob.evals
            self.C = (prob.g * ev)[:, None] * ev[None, :]

    def initial_state(self, sigma):
        return np.concatenate([[sigma], self.U0.ravel()])

    def rhs(self, t, y):
        d = self.d
        u, U = y[0], y[1:].reshape(d, d)
        if self.prob.law is not None:
            b, C = self.prob.b, self.C
            dU = -(u**2) * C * U + u * np.diag(b)
            du = -u * np.sum(C * U * U) + np.sum(b * np.diag(U))
        else:
            dU = -(u**2) * self.GL @ U @ self.lam + u * self.lam2
            du = -u * np.trace(self.GL @ U @ self.lam @ U.T) + np.trace(self.lam2 @ U.T)
        return np.concatenate([[du], dU.ravel()])

    def gap(self, Y):
        Y = np.atleast_2d(Y)
        Q = self.prob.Q
        out = np.empty(len(Y))
        for k, y in enumerate(Y):
            V = y[0] * y[1:].reshape(self.d, self.d)
            delta = (V if Q is None else Q.T @ V @ Q) - self.target
            out[k] = 0.5 * float(np.sum(self.C * delta * delta))
        return out

    def frob_sq(self, Y):
        Y = np.atleast_2d(Y)
        return np.einsum("ij,ij->i", Y[:, 1:], Y[:, 1:])

    def V_modes(self, Y):
        Y = np.atleast_2d(Y)
        Q = self.prob.Q
        out = np.empty((len(Y), self.d))
        for k, y in enumerate(Y):
            V = y[0] * y[1:].reshape(self.d, self.d)
            out[k] = np.diagonal(V) if Q is None else np.einsum("ij,ik,kj->j", Q, V, Q)
        return out

    def U_dense(self, y):
        return y[1:].reshape(self.d, self.d).copy()


# --------------------------------------------------------------------------- result
def _stored_indices(t, n_points):
    if len(t) <= n_points:
        return np.arange(len(t))
    grid = np.geomspace(max(t[1], 1e-12), t[-1], n_points - 1)
    idx = np.unique(np.concatenate([[0], np.searchsorted(t, grid).clip(0, len(t) - 1), [len(t) - 1]]))
    return idx


class FlowResult:
    r"""Trajectory of the reduced flow, kept lazily (docs/linear_attention.md §2).

    The integrator's state is kept at every step: for ``path="eigen"`` the d + 2 eigen-coordinates
    (u, Ũ_11 … Ũ_dd, τ) with Ũ = QᵀUQ (off-diagonal Ũ_ij = Ũ_ij(0) e^{−C_ij τ} in closed form); for
    ``path="dense"`` (u, U). Dense d × d matrices are built only when asked for.

    The ``*_at`` methods take any times in [0, t[-1]]. At a stored time they return the stored state
    exactly. Between two stored times they integrate again over that one interval, with the same method,
    tolerances and Jacobian, from the stored state at its left end, and read the solver's dense output at
    the requested times (one short integration per interval that holds requests). The result carries the
    error of the stored state plus the local error of a few short steps, so it is as accurate as the
    trajectory at the steps (measured against an rtol = 1e-13 reference in
    tests/theory/linear_attention/test_flow.py). Two alternatives were measured and rejected: the dense
    output of the whole run (DOP853's, over its long steps, is up to 20× less accurate than its steps) and a
    quintic Hermite interpolant from stored values and derivatives (up to 260 × rtol on stiff LSODA runs,
    5000 × rtol on DOP853's steps). (:func:`theory.ode.integrate` does not keep the solver's dense output.)

    Attributes
    ----------
    t, u, loss, gap, conserved : (n,) ndarrays at every solver step (or at ``t_eval``); ``conserved`` =
        u² − ‖U‖_F², ``gap`` = L − L*.
    states : (n, m) ndarray, the integrator's state at ``t`` (m = d + 2 for the eigen path, d² + 1 dense).
    d : int;  sigma : float, the initial scale σ used.
    eigenvalues : (d,) ndarray or None (random law); eigenvectors : (d, d) ndarray, or None when Λ was
        given diagonal (the eigenbasis is the standard basis).
    t_U : (m,) ndarray, ``n_points`` log-spaced step times (first and last included); ``U`` (m, d, d) and
        ``V`` = u·U (m, d, d) at those times, computed on first access (they cost m d² numbers).
    minimizer : (d, d) ndarray, the u·U the flow should reach (Γ⁻¹, or the random-law minimiser),
        computed on first access. min_loss : float.
    t_converged : float or None, first time the gap fell below ``gap_tol``.
    nfev, njev : int, solver work.  path, method : str.
    """

    def __init__(
        self,
        *,
        t,
        states,
        model,
        prob,
        sigma,
        t_converged,
        nfev,
        njev,
        path,
        method,
        n_points,
        all_stored,
        solve,
    ):
        self._solve = solve
        self.t = t
        self.states = states
        self._model = model
        self._prob = prob
        self.d = prob.d
        self.sigma = sigma
        self.u = states[:, 0].copy()
        self.gap = model.gap(states)
        self.min_loss = prob.min_loss
        self.loss = self.min_loss + self.gap
        self.conserved = self.u**2 - model.frob_sq(states)
        self.t_converged = t_converged
        self.nfev, self.njev = int(nfev), int(njev)
        self.path, self.method = path, method
        self.n_points = n_points
        self._all_stored = all_stored
        self.eigenvalues = prob.evals
        self.eigenvectors = prob.Q

    # ------------------------------------------------------------------ compatibility
    @property
    def t_U(self) -> np.ndarray:
        """(m,) times at which :attr:`U` and :attr:`V` are given (log-spaced steps, last included)."""
        return self.t[self._stored]

    @functools.cached_property
    def _stored(self):
        return np.arange(len(self.t)) if self._all_stored else _stored_indices(self.t, self.n_points)

    @functools.cached_property
    def U(self) -> np.ndarray:
        """(m, d, d) U at :attr:`t_U` (exact stored states; built on first access)."""
        return np.stack([self._model.U_dense(self.states[k]) for k in self._stored])

    @functools.cached_property
    def V(self) -> np.ndarray:
        """(m, d, d) products u·U at the times :attr:`t_U`."""
        return self.u[self._stored][:, None, None] * self.U

    @functools.cached_property
    def minimizer(self) -> np.ndarray:
        """(d, d) the u·U the flow should reach: Γ⁻¹ (docs/linear_attention.md §3) or the random-law
        minimiser (E[Γ_τΛ_τ²])⁻¹E[Λ_τ²]."""
        return self._prob.minimizer()

    @property
    def conserved_drift(self) -> float:
        """max_t |(u² − ‖U‖²)(t) − (u² − ‖U‖²)(0)|."""
        return float(np.max(np.abs(self.conserved - self.conserved[0])))

    def __repr__(self) -> str:
        conv = "None" if self.t_converged is None else f"{self.t_converged:.4g}"
        return (
            f"FlowResult(path={self.path!r}, method={self.method!r}, d={self.d}, steps={len(self.t)}, "
            f"t_end={self.t[-1]:.4g}, gap_end={self.gap[-1]:.3g}, t_converged={conv}, nfev={self.nfev}, "
            f"njev={self.njev})"
        )

    # ------------------------------------------------------------------ values at requested times
    def state_at(self, t) -> np.ndarray:
        """The integrator's state at time(s) ``t`` in [0, t[-1]]: exact at stored times, from the solver's
        dense output of a re-integration from the preceding stored state in between (see the class).

        Parameters
        ----------
        t : float or (k,) array_like

        Returns
        -------
        (m,) or (k, m) ndarray (m = d + 2 eigen-coordinates, or d² + 1 for the dense path).
        """
        ts = np.asarray(t, dtype=np.float64)
        if ts.ndim > 1:
            raise ValueError(f"t must be a number or a 1-D array of times, got shape {ts.shape}")
        flat = np.atleast_1d(ts)
        T = self.t
        if not np.all(np.isfinite(flat)) or np.any(flat < T[0]) or np.any(flat > T[-1]):
            raise ValueError(f"t must lie in [{T[0]:g}, {T[-1]:g}] (the integrated interval)")
        out = np.empty((len(flat), self.states.shape[1]))
        k = np.clip(np.searchsorted(T, flat), 0, len(T) - 1)
        exact = T[k] == flat
        out[exact] = self.states[k[exact]]
        rest = np.nonzero(~exact)[0]
        left = k[rest] - 1  # the stored time just before each remaining request
        for j in np.unique(left):
            idx = rest[left == j]
            want, pos = np.unique(flat[idx], return_inverse=True)
            # the flow is autonomous: restart the clock at T[j]
            sol = self._solve(self.states[j], want[-1] - T[j], want - T[j])
            out[idx] = sol.y.T[pos]
        return out[0] if ts.ndim == 0 else out

    def u_at(self, t):
        """u at time(s) ``t``: a float or a (k,) array."""
        s = np.atleast_2d(self.state_at(t))
        return float(s[0, 0]) if np.ndim(t) == 0 else s[:, 0]

    def gap_at(self, t):
        """Loss gap L − L* at time(s) ``t`` (docs/linear_attention.md §2, sum of the mode gaps)."""
        g = self._model.gap(np.atleast_2d(self.state_at(t)))
        return float(g[0]) if np.ndim(t) == 0 else g

    def loss_at(self, t):
        """Loss L at time(s) ``t``."""
        return self.min_loss + self.gap_at(t)

    def V_modes_at(self, t) -> np.ndarray:
        """Diagonal of u·U in Λ's eigenbasis, u·Ũ_ii: (d,) or (k, d), O(d) a time for the eigen path.

        Its limit is 1/g_i for a fixed Λ (docs/linear_attention.md §3).
        """
        v = self._model.V_modes(np.atleast_2d(self.state_at(t)))
        return v[0] if np.ndim(t) == 0 else v

    def U_at(self, t) -> np.ndarray:
        """Dense U at time(s) ``t``: (d, d) or (k, d, d); costs one d × d × d product per time when Λ was
        rotated (none when it was given diagonal)."""
        S = np.atleast_2d(self.state_at(t))
        U = np.stack([self._model.U_dense(s) for s in S])
        return U[0] if np.ndim(t) == 0 else U

    def V_at(self, t) -> np.ndarray:
        """Dense u·U at time(s) ``t``: (d, d) or (k, d, d)."""
        S = np.atleast_2d(self.state_at(t))
        V = np.stack([s[0] * self._model.U_dense(s) for s in S])
        return V[0] if np.ndim(t) == 0 else V


# --------------------------------------------------------------------------- driver
def integrate_flow(
    cov,
    N,
    sigma=None,
    theta=None,
    t_max: float = 1e4,
    *,
    path: str = "eigen",
    gap_tol: float | None = 1e-10,
    rtol: float = 1e-10,
    atol: float = 1e-13,
    n_points: int = 200,
    method: str | None = None,
    t_eval=None,
    warn: bool = True,
) -> FlowResult:
    r"""Integrate the reduced gradient flow from the paper's initialisation (docs/linear_attention.md §2).

    u(0) = σ, U(0) = σ ΘΘᵀ. For a fixed covariance Λ:
    dU/dt = −u² ΓΛUΛ + uΛ², du/dt = −u tr(ΓΛUΛUᵀ) + tr(Λ²Uᵀ).
    For a random diagonal covariance (``cov`` a :class:`RandomDiagonalCovariance`):
    dU/dt = −u² C∘U + u diag(m2), du/dt = −u Σ C_ij U_ij² + Σ m2_i U_ii (docs/linear_attention.md §2).

    Parameters
    ----------
    cov : (d, d) array_like or RandomDiagonalCovariance
        Λ, symmetric positive definite, or the law of a random diagonal Λ_τ. A diagonal Λ (Λ given in its
        eigenbasis) is recognised and read off its diagonal: no ``eigh``, no d × d temporary.
    N : int
        Training prompt length, >= 1.
    sigma : float, optional
        Initial scale σ > 0; default :func:`paper_sigma` with factor 1 (σ² ‖Γ‖_op √d = 1, half the
        paper's bound; for a random law, Γ of its mean diag(E λ)). A :class:`ConvergenceConditionWarning`
        is issued when σ² ‖Γ‖_op √d >= 2 (fixed Λ only).
    theta : (d, k) array_like, optional
        Θ with ‖ΘΘᵀ‖_F = 1; default d^{-1/4} I.
    t_max : float
        Final time (gradient-flow time; for a network, learning rate × steps).
    path : {"eigen", "dense"}
    gap_tol : float or None
        Stop when L − L* <= gap_tol (terminal event); None integrates to ``t_max``.
    rtol, atol : float
        Solver tolerances, for every component of the state (the eigen path hands rtol/√(d + 2) and
        atol/√(d + 2) to the solvers other than LSODA, whose error norm is a root mean square).
    n_points : int
        How many (log-spaced) steps :attr:`FlowResult.U` and :attr:`FlowResult.V` report, >= 2.
    method : str, optional
        solve_ivp method. Default for the eigen path: LSODA with the dense sympy Jacobian for d <= 200;
        above, DOP853 when the modes' spread of time scales allows few explicit steps (κ = 4: about 60),
        else BDF with the sparse arrow Jacobian; DOP853 for the dense path.
    t_eval : array_like, optional
        Record the trajectory at these times instead of at the solver's steps (the solver's own dense
        output; for comparing paths).
    warn : bool
        Issue the :class:`ConvergenceConditionWarning` (a study that violates the condition on purpose
        passes False: no process-global warning filter, which other threads would share).

    Returns
    -------
    FlowResult
    """
    N = as_count(N, "N")
    t_max = as_positive(t_max, "t_max")
    if gap_tol is not None:
        gap_tol = as_positive(gap_tol, "gap_tol")
    rtol = as_positive(rtol, "rtol")
    atol = as_positive(atol, "atol")
    n_points = as_count(n_points, "n_points", 2)
    if t_eval is not None:
        t_eval = np.asarray(t_eval, dtype=np.float64)
        if t_eval.ndim != 1 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0 or t_eval[-1] > t_max:
            raise ValueError("t_eval must be an increasing 1-D array inside [0, t_max]")
    if path not in ("eigen", "dense"):
        raise ValueError(f"path must be 'eigen' or 'dense', got {path!r}")

    prob = _Problem(cov, N)
    d = prob.d
    if sigma is None:
        sigma = float(np.sqrt(1.0 / (prob.gamma_op(prob.sigma_evals) * np.sqrt(d))))
    sigma = as_positive(sigma, "sigma")
    if prob.law is None and warn:
        margin = sigma**2 * prob.gamma_op(prob.evals) * np.sqrt(d)
        if margin >= 2:
            warnings.warn(
                f"sigma={sigma:g} violates the convergence condition sigma^2 ||Gamma||_op "
                f"sqrt(d) < 2 (value {margin:.3g})",
                ConvergenceConditionWarning,
                stacklevel=2,
            )
    th = _theta_factor(d, theta)

    if path == "eigen":
        model = _eigen_modes(prob, sigma, th)
        prob.lam = None  # the result keeps Q and the spectrum, not a copy of Λ
        if method is None:
            if d <= _LSODA_MAX_D:
                method = "LSODA"
            else:
                steps = _explicit_steps(model, sigma, t_max, gap_tol)
                method = "DOP853" if steps <= _EXPLICIT_MAX_STEPS else "BDF"
        jac = model.jac_dense if method == "LSODA" else model.jac_sparse
        what = "LSA flow (eigenbasis)"
        if method != "LSODA":
            # LSODA bounds the error of every component (a max norm); the other solve_ivp methods bound
            # its root mean square over the d + 2 components, which would let u alone carry √(d + 2)
            # times the tolerance (measured: 465 × rtol at d = 10⁴ with BDF, 7 × rtol after this scaling)
            scale = np.sqrt(d + 2.0)
            rtol, atol = max(rtol / scale, 100 * np.finfo(float).eps), atol / scale
    else:
        model = _DenseFlow(prob, sigma, th)
        method = method or "DOP853"
        jac = None
        what = "LSA flow (dense)"

    def solve(y0, t_end, t_eval_):
        return integrate(
            what, model.rhs, t_end, y0, method=method, jac=jac, rtol=rtol, atol=atol, t_eval=t_eval_
        )

    def log_gap(t, y):
        return np.log(max(float(model.gap(y)[0]), 1e-300)) - np.log(gap_tol)

    events = [event(log_gap, terminal=True, direction=-1)] if gap_tol is not None else ()
    sol = integrate(
        what,
        model.rhs,
        t_max,
        model.initial_state(sigma),
        method=method,
        jac=jac,
        events=events,
        rtol=rtol,
        atol=atol,
        t_eval=t_eval,
    )
    states = np.ascontiguousarray(sol.y.T)  # finite: integrate raises FloatingPointError otherwise
    return FlowResult(
        t=sol.t,
        states=states,
        model=model,
        prob=prob,
        sigma=sigma,
        t_converged=event_time(sol, 0),
        nfev=sol.nfev,
        njev=sol.njev,
        path=path,
        method=method,
        n_points=n_points,
        all_stored=t_eval is not None,
        solve=solve,
    )
