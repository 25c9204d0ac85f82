r"""Symbolic derivations for linear self-attention (docs/linear_attention.md §2–4), done by sympy, not typed
in.

What is derived here (docs/linear_attention.md follows the same steps):

1. :func:`gaussian_fourth_moment` — E[x xᵀ A x xᵀ] for x ~ N(0, Λ) from Isserlis' theorem
   (sum over the three pairings), for a symbolic symmetric Λ and a symbolic A.
2. :func:`population_loss_expr` — the reduced loss ½ E[(u wᵀ Λ̂ U x_q − wᵀ x_q)²] built from 1.
   (E[Λ̂ A Λ̂] = (1/N) E[x xᵀ A x xᵀ] + (1 − 1/N) Λ A Λ), symbolic N, symbolic Λ, full symbolic U.
3. :func:`derive_minimizer` — solves ∂L/∂V = 0 for V = u·U (L is quadratic in V) and checks it
   equals Γ⁻¹; :func:`verify_minimizer` substitutes (u, Γ⁻¹/u) back and simplifies ∇_{u,U} L to 0.
4. :func:`mode_decomposition` — for diagonal Λ the loss splits into scalar modes
   ℓ_ii = ½u²c_i v_i² − u b_i v_i (c_i = g_i λ_i², b_i = λ_i²) and ℓ_ij = ½u² c_ij v_ij²; per-mode
   minimiser u v_i = b_i / c_i = 1/g_i for any d.
5. :func:`mode_functions` — lambdified gradient and Hessian of the mode losses and the closed-form
   off-diagonal decay v_ij(τ) = v_ij(0) e^{−c_ij τ}, τ' = u², used by the eigenbasis flow.
6. :func:`derive_predictor` — the LSA output at the limiting weights on a symbolic prompt of length M
   equals x_qᵀ Γ⁻¹ (1/M) Σ y_i x_i.
7. :func:`risk_expr` — the exact finite-M risk of docs/linear_attention.md §4 from Isserlis, for
   symbolic V, S, Q, W, s², M.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import sympy as sp


# --------------------------------------------------------------------------- building blocks
def _sym_matrix(name: str, d: int, symmetric: bool = False) -> sp.Matrix:
    if symmetric:
        return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}", real=True))
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def _diag_cov(d: int) -> sp.Matrix:
    return sp.diag(*[sp.Symbol(f"lambda_{i}", positive=True) for i in range(d)])


def gaussian_fourth_moment(cov: sp.Matrix, A: sp.Matrix) -> sp.Matrix:
    r"""E[x xᵀ A x xᵀ] for x ~ N(0, Λ) by Isserlis' theorem.

    E[x_i x_k x_l x_j] = Λ_ik Λ_lj + Λ_il Λ_kj + Λ_ij Λ_kl, summed against A_kl.

    Parameters
    ----------
    cov : sympy (d, d) Matrix, symmetric
    A : sympy (d, d) Matrix

    Returns
    -------
    sympy (d, d) Matrix
    """
    d = cov.shape[0]
    out = sp.zeros(d, d)
    for i, j in itertools.product(range(d), repeat=2):
        out[i, j] = sp.expand(
            sum(
                A[k, m] * (cov[i, k] * cov[m, j] + cov[i, m] * cov[k, j] + cov[i, j] * cov[k, m])
                for k in range(d)
                for m in range(d)
            )
        )
    return out


def empirical_second_moment(cov: sp.Matrix, A: sp.Matrix, n) -> sp.Matrix:
    r"""E[Ŝ A Ŝ] for Ŝ = (1/n) Σ_{i≤n} x_i x_iᵀ, x_i iid N(0, Λ): n diagonal terms, n(n−1) cross terms."""
    return gaussian_fourth_moment(cov, A) / n + (1 - sp.Integer(1) / n) * cov * A * cov


def gamma_expr(cov: sp.Matrix, N) -> sp.Matrix:
    """Γ = (1 + 1/N) Λ + (tr Λ / N) I (docs/linear_attention.md §2), symbolic."""
    d = cov.shape[0]
    return (1 + sp.Integer(1) / N) * cov + cov.trace() / N * sp.eye(d)


# --------------------------------------------------------------------------- loss and minimiser
@functools.cache
def population_loss_expr(d: int = 2, diagonal: bool = True):
    r"""Derive the reduced population loss L(u, U) (docs/linear_attention.md §2) symbolically.

    L = ½ E_w E_{x_q} E_Λ̂ [(x_qᵀ(u Uᵀ Λ̂ − I) w)²] with w ~ N(0, I), x_q ~ N(0, Λ)
      = ½ [u² tr E(Λ̂ UΛUᵀ Λ̂) − 2u tr(ΛUΛ) + tr Λ], E(Λ̂ A Λ̂) from :func:`empirical_second_moment`.

    Returns
    -------
    (L, u, U, cov, N) : the expression and its symbols.
    """
    u = sp.Symbol("u", real=True)
    N = sp.Symbol("N", positive=True)
    U = _sym_matrix("U", d)
    cov = _diag_cov(d) if diagonal else _sym_matrix("S", d, symmetric=True)
    # residual r = x_qᵀ (u Uᵀ Λ̂ − I) w ; E_w E_xq r² = tr((uΛ̂U − I) Λ (uUᵀΛ̂ − I))
    second = empirical_second_moment(cov, U * cov * U.T, N)  # E[Λ̂ UΛUᵀ Λ̂]
    mean_cross = (cov * U * cov).trace()  # E tr(Λ̂ U Λ) = tr(Λ U Λ)
    L = sp.Rational(1, 2) * (u**2 * second.trace() - 2 * u * mean_cross + cov.trace())
    return sp.expand(L), u, U, cov, N


def check_loss_matches_paper(d: int = 2, diagonal: bool = False) -> bool:
    """True iff the derived loss equals the paper's ½u² tr(ΓΛUΛUᵀ) − u tr(Λ²Uᵀ) + ½ tr Λ."""
    L, u, U, cov, N = population_loss_expr(d, diagonal)
    g = gamma_expr(cov, N)
    paper = (
        sp.Rational(1, 2) * u**2 * (g * cov * U * cov * U.T).trace()
        - u * (cov * cov * U.T).trace()
        + sp.Rational(1, 2) * cov.trace()
    )
    return sp.simplify(sp.expand(L - paper)) == 0


@functools.cache
def derive_minimizer(d: int = 2, diagonal: bool = True) -> tuple[sp.Matrix, sp.Matrix, object]:
    r"""Solve ∂L/∂V = 0 for V = u·U, the loss being a quadratic in V (docs/linear_attention.md §3).

    Returns
    -------
    (V_star, cov, N) : the solved product and the symbols it is written in.
    """
    L, u, U, cov, N = population_loss_expr(d, diagonal)
    V = _sym_matrix("V", d)
    LV = sp.expand(L.subs({U[i, j]: V[i, j] / u for i in range(d) for j in range(d)}))
    assert not LV.has(u), "the loss must depend on (u, U) only through V = uU"
    eqs = [sp.diff(LV, V[i, j]) for i in range(d) for j in range(d)]
    sol = sp.solve(eqs, list(V), dict=True)
    if len(sol) != 1:
        raise RuntimeError(f"expected a unique minimiser in V, sympy found {len(sol)}")
    V_star = V.subs(sol[0]).applyfunc(sp.simplify)
    return V_star, cov, N


def minimizer_equals_gamma_inverse(d: int = 2, diagonal: bool = True) -> bool:
    """True iff the solved V* simplifies to Γ⁻¹ exactly."""
    V_star, cov, N = derive_minimizer(d, diagonal)
    diff = (V_star - gamma_expr(cov, N).inv()).applyfunc(sp.simplify)
    return diff == sp.zeros(d, d)


def verify_minimizer(d: int = 2, diagonal: bool = True) -> bool:
    """Substitute (u, Γ⁻¹/u) into ∇_{u,U} L and simplify: True iff every component is 0 for all u ≠ 0."""
    L, u, U, cov, N = population_loss_expr(d, diagonal)
    target = gamma_expr(cov, N).inv() / u
    subs = {U[i, j]: target[i, j] for i in range(d) for j in range(d)}
    grads = [sp.diff(L, u)] + [sp.diff(L, U[i, j]) for i in range(d) for j in range(d)]
    return all(sp.simplify(gr.subs(subs)) == 0 for gr in grads)


def minimizer_numeric(cov_values, N_value: int, d: int = 2) -> np.ndarray:
    """Evaluate the sympy-solved V* (diagonal Λ, symbolic N) at numbers, as float64."""
    V_star, cov, N = derive_minimizer(d, True)
    subs = {cov[i, i]: float(cov_values[i]) for i in range(d)}
    subs[N] = int(N_value)
    return np.array(V_star.subs(subs).evalf(30), dtype=np.float64)


# --------------------------------------------------------------------------- modes (any d)
_u, _v, _c, _b, _tau, _v0 = sp.symbols("u v c b tau v0", real=True)


def mode_losses():
    r"""Per-mode loss terms in Λ's eigenbasis (diagonal Λ and U written Ũ = QᵀUQ).

    Returns
    -------
    (ell_diag, ell_off, symbols) with ell_diag = ½u²c v² − u b v and ell_off = ½u²c v².
    """
    ell_diag = sp.Rational(1, 2) * _u**2 * _c * _v**2 - _u * _b * _v
    ell_off = sp.Rational(1, 2) * _u**2 * _c * _v**2
    return ell_diag, ell_off, (_u, _v, _c, _b)


def mode_decomposition(d: int = 3) -> bool:
    r"""True iff L(u, U) = Σ_i ℓ_diag(u, U_ii; g_iλ_i², λ_i²) + Σ_{i≠j} ℓ_off(u, U_ij; g_iλ_iλ_j) + ½ tr Λ.

    Checked on the loss derived from Isserlis (:func:`population_loss_expr`) for diagonal Λ.
    """
    L, u, U, cov, N = population_loss_expr(d, True)
    ell_diag, ell_off, _ = mode_losses()
    lam = [cov[i, i] for i in range(d)]
    t = sum(lam)
    g = [(1 + sp.Integer(1) / N) * lam_i + t / N for lam_i in lam]
    total = sp.Rational(1, 2) * t
    for i in range(d):
        for j in range(d):
            if i == j:
                total += ell_diag.subs({_u: u, _v: U[i, i], _c: g[i] * lam[i] ** 2, _b: lam[i] ** 2})
            else:
                total += ell_off.subs({_u: u, _v: U[i, j], _c: g[i] * lam[i] * lam[j]})
    return sp.simplify(sp.expand(L - total)) == 0


def mode_minimizer():
    """Solve ∂ℓ_diag/∂v = 0: u·v = b / c (= 1/g_i for c = g_iλ_i², b = λ_i²)."""
    ell_diag, _, _ = mode_losses()
    (v_star,) = sp.solve(sp.diff(ell_diag, _v), _v)
    return sp.simplify(_u * v_star)


def off_diagonal_decay_holds() -> bool:
    r"""Substitution check: v(τ) = v0 e^{−cτ} with τ' = u² solves v' = −∂ℓ_off/∂v = −u² c v."""
    _, ell_off, _ = mode_losses()
    v_tau = _v0 * sp.exp(-_c * _tau)
    dvdt = sp.diff(v_tau, _tau) * _u**2  # chain rule, dτ/dt = u²
    rhs = -sp.diff(ell_off, _v).subs(_v, v_tau)
    return sp.simplify(dvdt - rhs) == 0


@functools.cache
def mode_functions() -> dict:
    r"""Lambdified numpy functions for the eigenbasis flow (docs/linear_attention.md §2).

    Returns
    -------
    dict
        ``grad_diag(u, v, c, b) -> (∂ℓ/∂u, ∂ℓ/∂v)``, ``hess_diag(u, v, c, b) -> (∂²uu, ∂²uv, ∂²vv)``,
        ``off_du(u, tau, c, v0)`` the off-diagonal modes' ∂ℓ/∂u with v = v0 e^{−cτ} substituted,
        ``off_du_du`` and ``off_du_dtau`` its derivatives in u and τ, ``gap_diag(u, v, c, b)``
        the per-mode loss gap ½c(uv − b/c)², ``gap_off(u, tau, c, v0)``.
    """
    ell_diag, ell_off, _ = mode_losses()
    lam = functools.partial(sp.lambdify, modules="numpy")
    gu, gv = sp.diff(ell_diag, _u), sp.diff(ell_diag, _v)
    v_tau = _v0 * sp.exp(-_c * _tau)
    off_du = sp.diff(ell_off, _u).subs(_v, v_tau)
    ustar = mode_minimizer()
    gap_diag = sp.Rational(1, 2) * _c * (_u * _v - ustar) ** 2
    assert sp.simplify(sp.expand(ell_diag - gap_diag + _b**2 / (2 * _c))) == 0
    return {
        "grad_diag": lam((_u, _v, _c, _b), (gu, gv)),
        "hess_diag": lam((_u, _v, _c, _b), (sp.diff(gu, _u), sp.diff(gu, _v), sp.diff(gv, _v))),
        "off_du": lam((_u, _tau, _c, _v0), off_du),
        "off_du_du": lam((_u, _tau, _c, _v0), sp.diff(off_du, _u)),
        "off_du_dtau": lam((_u, _tau, _c, _v0), sp.diff(off_du, _tau)),
        "gap_diag": lam((_u, _v, _c, _b), gap_diag),
        "gap_off": lam((_u, _tau, _c, _v0), ell_off.subs(_v, v_tau)),
    }


# --------------------------------------------------------------------------- predictor
def derive_predictor(d: int = 2, M: int = 3) -> bool:
    r"""True iff f(E)_{d+1, M+1} at the limiting weights equals x_qᵀ Γ⁻¹ (1/M) Σ y_i x_i
    (docs/linear_attention.md §3).

    E has symbolic entries, the LSA normalises by the prompt's own length M, Λ is symbolic diagonal.
    """
    cov = _diag_cov(d)
    N = sp.Symbol("N", positive=True)
    ginv = gamma_expr(cov, N).inv()
    c = sp.Symbol("c", positive=True)  # any split of the scale between the two matrices
    W_PV = sp.zeros(d + 1, d + 1)
    W_PV[d, d] = c
    W_KQ = sp.zeros(d + 1, d + 1)
    W_KQ[:d, :d] = ginv / c
    X = sp.Matrix(d, M, lambda i, j: sp.Symbol(f"x_{i}{j}", real=True))
    y = sp.Matrix(1, M, lambda i, j: sp.Symbol(f"y_{j}", real=True))
    xq = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"q_{i}", real=True))
    E = (X.col_insert(M, xq)).row_insert(d, y.col_insert(M, sp.zeros(1, 1)))
    f = E + W_PV * E * (E.T * W_KQ * E) / M
    h = sum((y[j] * X[:, j] for j in range(M)), sp.zeros(d, 1)) / M
    target = (xq.T * ginv * h)[0, 0]
    return sp.simplify(f[d, M] - target) == 0


# --------------------------------------------------------------------------- risk
@functools.cache
def risk_expr(d: int):
    r"""Exact finite-M risk E(x_qᵀ V ĥ_M − wᵀx_q)² (docs/linear_attention.md §4), derived from Isserlis.

    ĥ_M = Ŝ w + (1/M) Σ ε_i x_i; E over x_q ~ N(0, Q), w ~ N(0, W), ε ~ N(0, s²), x_i ~ N(0, S).

    Returns
    -------
    (R, symbols) with symbols = (V, S, Q, W, s2, M).
    """
    V = _sym_matrix("V", d)
    S = _sym_matrix("S", d, symmetric=True)
    Q = _sym_matrix("Q", d, symmetric=True)
    W = _sym_matrix("W", d, symmetric=True)
    s2 = sp.Symbol("s2", nonnegative=True)
    M = sp.Symbol("M", positive=True)
    A = V.T * Q * V
    # residual = x_qᵀ(VŜ − I)w + x_qᵀ V (1/M)Σ ε_i x_i ; the two parts are uncorrelated
    ESAS = empirical_second_moment(S, A, M)
    signal = (W * (ESAS - S * V.T * Q - Q * V * S + Q)).trace()
    noise = s2 / M * (A * S).trace()  # (1/M²) Σ_i E[ε_i²] E[x_iᵀ A x_i]
    return sp.expand(signal + noise), (V, S, Q, W, s2, M)


def risk_numeric(V, S, Q, W, s2: float, M: int) -> float:
    """Evaluate :func:`risk_expr` at numbers (d inferred from V, d ≤ 3)."""
    V = np.asarray(V, float)
    d = V.shape[0]
    R, (Vs, Ss, Qs, Ws, s2s, Ms) = risk_expr(d)
    subs = {Ms: M, s2s: s2}
    for sym, val in ((Vs, V), (Ss, S), (Qs, Q), (Ws, W)):
        for i in range(d):
            for j in range(d):
                subs[sym[i, j]] = float(np.asarray(val)[i, j])
    return float(R.subs(subs))
