r"""Gradient flow of the reduced LSA loss (spec §2, §6), integrated with ``scipy.integrate.solve_ivp``.

Two paths (docs/linear_attention.md, "Integrating the flow"):

* ``path="eigen"`` (default, fast): in Λ's eigenbasis the loss is a sum of scalar modes
  (:func:`theory.linear_attention.symbolic.mode_decomposition`). The d diagonal modes are integrated
  with the sympy-derived gradient and Jacobian; the d(d−1) off-diagonal modes decay in closed form,
  Ũ_ij = Ũ_ij(0) e^{−C_ij τ}, with τ' = u². State (u, Ũ_11 … Ũ_dd, τ): d + 2 numbers. LSODA.
* ``path="dense"`` (reference): the d² + 1 equations dU/dt = −u²ΓΛUΛ + uΛ², du/dt = −u tr(ΓΛUΛUᵀ)
  + tr(Λ²Uᵀ), explicit DOP853, no assumption on the basis.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..ode import event, event_time, integrate
from ..validation import as_count, as_covariance, as_positive
from .moments import gamma
from .random_cov import RandomDiagonalCovariance
from .symbolic import mode_functions


class ConvergenceConditionWarning(UserWarning):
    """σ violates the paper's condition σ² ‖Γ‖_op √d < 2 (convergence not guaranteed)."""


@dataclass(frozen=True)
class FlowResult:
    """Trajectory of the reduced flow.

    Attributes
    ----------
    t, u, loss, gap, conserved : (n,) ndarrays at every solver step (``conserved`` = u² − ‖U‖_F²,
        ``gap`` = L − L*).
    t_U : (m,) ndarray, times at which ``U`` is stored (a log-spaced subset of the steps, last included).
    U : (m, d, d) ndarray.
    minimizer : (d, d) ndarray, the u·U the flow should reach (Γ⁻¹, or the §6 minimiser).
    min_loss : float.
    t_converged : float or None, first time the gap fell below ``gap_tol``.
    nfev, njev : int, solver work.
    path, method : str.
    """

    t: np.ndarray
    u: np.ndarray
    loss: np.ndarray
    gap: np.ndarray
    conserved: np.ndarray
    t_U: np.ndarray
    U: np.ndarray
    minimizer: np.ndarray
    min_loss: float
    t_converged: float | None
    nfev: int
    njev: int
    path: str
    method: str

    @property
    def V(self) -> np.ndarray:
        """(m, d, d) products u·U at the times ``t_U``."""
        u_at = np.interp(self.t_U, self.t, self.u)
        return u_at[:, None, None] * self.U

    @property
    def conserved_drift(self) -> float:
        """max_t |(u² − ‖U‖²)(t) − (u² − ‖U‖²)(0)|."""
        return float(np.max(np.abs(self.conserved - self.conserved[0])))


def default_theta(d: int) -> np.ndarray:
    """Θ = d^{-1/4} I, so that ΘΘᵀ = I/√d has unit Frobenius norm (spec §2)."""
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
    r"""The paper's PL rate μ, gap(t) ≤ e^{−μt} gap(0) (spec §2, "our reading"):

    μ = σ² ‖ΛΘ‖_F² (2 − √d σ² ‖Γ‖_op) / (√d ‖Λ‖_op² tr(Γ⁻¹Λ⁻¹) tr(Λ⁻¹)). Non-positive when the
    convergence condition fails.
    """
    lam = as_covariance(cov)
    d = lam.shape[0]
    s = as_positive(sigma, "sigma")
    th = default_theta(d) if theta is None else np.asarray(theta, float)
    g = gamma(lam, N)
    lam_inv = np.linalg.inv(lam)
    num = s**2 * np.linalg.norm(lam @ th) ** 2 * (2 - np.sqrt(d) * s**2 * np.linalg.norm(g, 2))
    den = np.sqrt(d) * np.linalg.norm(lam, 2) ** 2 * np.trace(np.linalg.inv(g) @ lam_inv) * np.trace(lam_inv)
    return float(num / den)


def _initial_U(d, sigma, theta):
    th = default_theta(d) if theta is None else np.asarray(theta, dtype=np.float64)
    if th.ndim != 2 or th.shape[0] != d:
        raise ValueError(f"theta must be a (d, k) matrix with d = {d}, got shape {th.shape}")
    tt = th @ th.T
    if abs(np.linalg.norm(tt) - 1.0) > 1e-8:
        raise ValueError(f"theta must satisfy ||theta theta^T||_F = 1, got {np.linalg.norm(tt):.6g}")
    return sigma * tt


def _stored_indices(t, n_points):
    if len(t) <= n_points:
        return np.arange(len(t))
    grid = np.geomspace(max(t[1], 1e-12), t[-1], n_points - 1)
    idx = np.unique(np.concatenate([[0], np.searchsorted(t, grid).clip(0, len(t) - 1), [len(t) - 1]]))
    return idx


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
) -> FlowResult:
    r"""Integrate the reduced gradient flow from the paper's initialisation (spec §2, §6).

    u(0) = σ, U(0) = σ ΘΘᵀ. For a fixed covariance Λ:
    dU/dt = −u² ΓΛUΛ + uΛ², du/dt = −u tr(ΓΛUΛUᵀ) + tr(Λ²Uᵀ).
    For a random diagonal covariance (``cov`` a :class:`RandomDiagonalCovariance`):
    dU/dt = −u² C∘U + u diag(m2), du/dt = −u Σ C_ij U_ij² + Σ m2_i U_ii (spec §6).

    Parameters
    ----------
    cov : (d, d) array_like or RandomDiagonalCovariance
        Λ, symmetric positive definite, or the law of a random diagonal Λ_τ.
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
        Solver tolerances.
    n_points : int
        How many (log-spaced) steps keep the full U.
    method : str, optional
        solve_ivp method; default LSODA (eigen, with the sympy Jacobian) or DOP853 (dense).
    t_eval : array_like, optional
        Report the trajectory at these times instead of at the solver's steps (for comparing paths).

    Returns
    -------
    FlowResult
    """
    N = as_count(N, "N")
    if sigma is None:
        sigma = paper_sigma(np.diag(cov.m1) if isinstance(cov, RandomDiagonalCovariance) else cov, N)
    sigma = as_positive(sigma, "sigma")
    t_max = as_positive(t_max, "t_max")
    if gap_tol is not None:
        gap_tol = as_positive(gap_tol, "gap_tol")
    if t_eval is not None:
        t_eval = np.asarray(t_eval, dtype=np.float64)
        if t_eval.ndim != 1 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0 or t_eval[-1] > t_max:
            raise ValueError("t_eval must be an increasing 1-D array inside [0, t_max]")
    if path not in ("eigen", "dense"):
        raise ValueError(f"path must be 'eigen' or 'dense', got {path!r}")

    if isinstance(cov, RandomDiagonalCovariance):
        d = cov.d
        Q = np.eye(d)
        C = cov.C(N)
        b = cov.m2
        const = 0.5 * float(np.sum(cov.m1))
        minimizer = cov.minimizer(N)

        def dense_rhs_U(u, U):
            return -(u**2) * C * U + u * np.diag(b)

        def dense_du(u, U):
            return -u * np.sum(C * U * U) + np.sum(b * np.diag(U))

    else:
        lam = as_covariance(cov)
        d = lam.shape[0]
        margin = convergence_margin(lam, N, sigma)
        if margin >= 2:
            warnings.warn(
                f"sigma={sigma:g} violates the convergence condition sigma^2 ||Gamma||_op "
                f"sqrt(d) < 2 (value {margin:.3g})",
                ConvergenceConditionWarning,
                stacklevel=2,
            )
        evals, Q = np.linalg.eigh(lam)
        g = (1 + 1 / N) * evals + evals.sum() / N
        C = (g * evals)[:, None] * evals[None, :]
        b = evals**2
        const = 0.5 * float(evals.sum())
        G = gamma(lam, N)
        GL, lam2 = G @ lam, lam @ lam
        ginv = np.linalg.inv(G)
        minimizer = 0.5 * (ginv + ginv.T)

        def dense_rhs_U(u, U):
            return -(u**2) * GL @ U @ lam + u * lam2

        def dense_du(u, U):
            return -u * np.trace(GL @ U @ lam @ U.T) + np.trace(lam2 @ U.T)

    U0 = _initial_U(d, sigma, theta)
    min_loss = const - 0.5 * float(np.sum(b**2 / np.diag(C)))
    if path == "eigen":
        res = _integrate_eigen(Q, C, b, sigma, U0, t_max, gap_tol, rtol, atol, method or "LSODA", t_eval)
    else:
        res = _integrate_dense(
            C, b, Q, dense_rhs_U, dense_du, sigma, U0, t_max, gap_tol, rtol, atol, method or "DOP853", t_eval
        )
    t, u, gap, conserved, U_of, nfev, njev, t_conv = res
    idx = np.arange(len(t)) if t_eval is not None else _stored_indices(t, n_points)
    U_stored = np.stack([U_of(i) for i in idx])
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(U_stored))):
        raise FloatingPointError(f"the flow blew up (non-finite u or U) before t = {t[-1]:g}")
    return FlowResult(
        t=t,
        u=u,
        loss=min_loss + gap,
        gap=gap,
        conserved=conserved,
        t_U=t[idx],
        U=U_stored,
        minimizer=minimizer,
        min_loss=min_loss,
        t_converged=t_conv,
        nfev=nfev,
        njev=njev,
        path=path,
        method=method or ("LSODA" if path == "eigen" else "DOP853"),
    )


def _gap_event(gap_fn, gap_tol):
    return event(lambda t, y: np.log(max(gap_fn(y), 1e-300)) - np.log(gap_tol), terminal=True, direction=-1)


def _integrate_eigen(Q, C, b, sigma, U0, t_max, gap_tol, rtol, atol, method, t_eval):
    f = mode_functions()
    d = len(b)
    Ut0 = Q.T @ U0 @ Q
    cd = np.diag(C).copy()
    off = ~np.eye(d, dtype=bool)
    c_off, v0_off = C[off], Ut0[off]
    keep = np.abs(v0_off) > 1e-13 * np.max(np.abs(Ut0))  # rounding from the change of basis is not a mode
    c_off, v0_off = c_off[keep], v0_off[keep]

    def rhs(t, y):
        u, v, tau = y[0], y[1 : d + 1], y[d + 1]
        gu, gv = f["grad_diag"](u, v, cd, b)
        du = -np.sum(gu) - np.sum(f["off_du"](u, tau, c_off, v0_off))
        return np.concatenate([[du], -gv, [u * u]])

    def jac(t, y):
        u, v, tau = y[0], y[1 : d + 1], y[d + 1]
        huu, huv, hvv = f["hess_diag"](u, v, cd, b)
        J = np.zeros((d + 2, d + 2))
        J[0, 0] = -np.sum(huu * np.ones(d)) - np.sum(f["off_du_du"](u, tau, c_off, v0_off))
        J[0, 1 : d + 1] = -huv
        J[0, d + 1] = -np.sum(f["off_du_dtau"](u, tau, c_off, v0_off))
        J[1 : d + 1, 0] = -huv
        J[np.arange(1, d + 1), np.arange(1, d + 1)] = -hvv * np.ones(d)
        J[d + 1, 0] = 2 * u
        return J

    def gap_of(y):
        u, v, tau = y[0], y[1 : d + 1], y[d + 1]
        return float(np.sum(f["gap_diag"](u, v, cd, b)) + np.sum(f["gap_off"](u, tau, c_off, v0_off)))

    y0 = np.concatenate([[sigma], np.diag(Ut0), [0.0]])
    events = [_gap_event(gap_of, gap_tol)] if gap_tol is not None else ()
    sol = integrate(
        "LSA flow (eigenbasis)",
        rhs,
        t_max,
        y0,
        method=method,
        jac=jac,
        events=events,
        rtol=rtol,
        atol=atol,
        t_eval=t_eval,
    )
    Y = sol.y
    u = Y[0]
    gaps = np.array([gap_of(Y[:, k]) for k in range(Y.shape[1])])
    # ‖Ũ‖_F² = Σ v_i² + Σ_off v0² e^{−2cτ}
    off_sq = np.array([np.sum((v0_off * np.exp(-c_off * tau)) ** 2) for tau in Y[d + 1]])
    conserved = u**2 - np.sum(Y[1 : d + 1] ** 2, axis=0) - off_sq

    def U_of(k):
        Ut = np.zeros((d, d))
        Ut[off] = Ut0[off] * np.exp(-C[off] * Y[d + 1, k])
        Ut[np.diag_indices(d)] = Y[1 : d + 1, k]
        return Q @ Ut @ Q.T

    return sol.t, u, gaps, conserved, U_of, sol.nfev, sol.njev, event_time(sol, 0)


def _integrate_dense(C, b, Q, rhs_U, rhs_u, sigma, U0, t_max, gap_tol, rtol, atol, method, t_eval):
    d = len(b)
    target = np.diag(b / np.diag(C))  # minimiser in the eigenbasis (Q = I for the random law)

    def rhs(t, y):
        u, U = y[0], y[1:].reshape(d, d)
        return np.concatenate([[rhs_u(u, U)], rhs_U(u, U).ravel()])

    def gap_of(y):
        delta = Q.T @ (y[0] * y[1:].reshape(d, d)) @ Q - target
        return 0.5 * float(np.sum(C * delta * delta))

    y0 = np.concatenate([[sigma], U0.ravel()])
    events = [_gap_event(gap_of, gap_tol)] if gap_tol is not None else ()
    sol = integrate(
        "LSA flow (dense)", rhs, t_max, y0, method=method, events=events, rtol=rtol, atol=atol, t_eval=t_eval
    )
    Y = sol.y
    gaps = np.array([gap_of(Y[:, k]) for k in range(Y.shape[1])])
    conserved = Y[0] ** 2 - np.sum(Y[1:] ** 2, axis=0)
    return (
        sol.t,
        Y[0],
        gaps,
        conserved,
        lambda k: Y[1:, k].reshape(d, d),
        sol.nfev,
        sol.njev,
        event_time(sol, 0),
    )
