"""The sympy derivations: each is an exact identity that sympy must simplify to zero."""

import numpy as np

from theory.linear_attention import global_minimizer, symbolic


def test_loss_derived_from_isserlis_matches_the_paper():
    assert symbolic.check_loss_matches_paper(2, diagonal=False)


def test_fourth_moment_identity_for_symmetric_A():
    """Isserlis gives E[x xᵀ A x xᵀ] = Λ(A + Aᵀ)Λ + tr(AΛ)Λ (docs/linear_attention.md §2)."""
    import sympy as sp

    S = symbolic._sym_matrix("S", 2, symmetric=True)
    A = symbolic._sym_matrix("A", 2)
    lhs = symbolic.gaussian_fourth_moment(S, A)
    rhs = S * (A + A.T) * S + (A * S).trace() * S
    assert (lhs - rhs).applyfunc(sp.expand) == sp.zeros(2, 2)


def test_minimiser_solved_symbolically_is_gamma_inverse():
    assert symbolic.minimizer_equals_gamma_inverse(2, diagonal=True)
    assert symbolic.verify_minimizer(2, diagonal=False)


def test_sympy_minimiser_equals_numpy_to_1e12():
    rng = np.random.default_rng(0)
    for _ in range(5):
        lam = rng.uniform(0.1, 5.0, size=2)
        N = int(rng.integers(1, 100))
        np.testing.assert_allclose(
            symbolic.minimizer_numeric(lam, N), global_minimizer(np.diag(lam), N), rtol=0, atol=1e-12
        )


def test_per_eigenvalue_modes():
    assert symbolic.mode_decomposition(3)
    assert str(symbolic.mode_minimizer()) == "b/c"
    assert symbolic.off_diagonal_decay_holds()


def test_mode_functions_match_hand_gradient():
    f = symbolic.mode_functions()
    u, v, c, b = 0.7, 1.3, 2.0, 0.5
    gu, gv = f["grad_diag"](u, v, c, b)
    assert np.isclose(gu, u * c * v**2 - b * v) and np.isclose(gv, u**2 * c * v - u * b)


def test_predictor_and_risk_derivations():
    assert symbolic.derive_predictor(2, 3)
    rng = np.random.default_rng(1)
    from theory.linear_attention import test_risk as exact_risk

    V = rng.standard_normal((2, 2))
    S = np.array([[1.0, 0.3], [0.3, 2.0]])
    Q = np.array([[0.5, -0.1], [-0.1, 1.0]])
    W = np.array([[2.0, 0.4], [0.4, 0.7]])
    np.testing.assert_allclose(
        symbolic.risk_numeric(V, S, Q, W, 0.3, 7),
        exact_risk(V, 7, test_cov=S, query_cov=Q, task_cov=W, noise_var=0.3),
        rtol=1e-12,
    )
