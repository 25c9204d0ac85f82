import numpy as np
import pytest

from theory.linear_attention import (
    gamma,
    global_minimizer,
    limiting_weights,
    loss_gap,
    minimum_loss,
    population_loss,
    population_loss_grad,
)


def spd(rng, d):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.2 * np.eye(d)


def test_gamma_is_second_moment_of_empirical_covariance():
    """E[Λ̂²] = ΓΛ, checked by Monte Carlo (tolerance: 5 standard errors entrywise)."""
    rng = np.random.default_rng(0)
    d, N, n = 3, 4, 100_000
    lam = spd(rng, d)
    X = rng.standard_normal((n, N, d)) @ np.linalg.cholesky(lam).T
    S = np.einsum("bni,bnj->bij", X, X) / N
    S2 = S @ S
    mean, se = S2.mean(0), S2.std(0) / np.sqrt(n)
    assert np.all(np.abs(mean - gamma(lam, N) @ lam) < 5 * se)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    lam, N = spd(rng, 4), 7
    u, U = 0.7, rng.standard_normal((4, 4))
    gu, gU = population_loss_grad(u, U, lam, N)
    h = 1e-6
    num_u = (population_loss(u + h, U, lam, N) - population_loss(u - h, U, lam, N)) / (2 * h)
    assert abs(num_u - gu) < 1e-6 * max(1, abs(gu))
    for i, j in [(0, 0), (1, 3), (3, 2)]:
        E = np.zeros_like(U)
        E[i, j] = h
        num = (population_loss(u, U + E, lam, N) - population_loss(u, U - E, lam, N)) / (2 * h)
        assert abs(num - gU[i, j]) < 1e-6 * max(1, abs(gU[i, j]))


def test_minimiser_zeroes_gradient_and_attains_minimum_loss():
    rng = np.random.default_rng(2)
    lam, N = spd(rng, 5), 3
    w = limiting_weights(lam, N)
    gu, gU = population_loss_grad(w["u"], w["U"], lam, N)
    assert abs(gu) < 1e-12 and np.max(np.abs(gU)) < 1e-12
    assert population_loss(w["u"], w["U"], lam, N) == pytest.approx(minimum_loss(lam, N), abs=1e-12)
    np.testing.assert_allclose(w["u"] * w["U"], global_minimizer(lam, N), atol=1e-14)
    # full weights of docs/linear_attention.md §3: W_KQ = tr(Γ^-2)^(-1/4) [[Γ^-1, 0], [0, 0]], W_PV =
    # tr(Γ^-2)^(1/4) e e^T
    ginv = global_minimizer(lam, N)
    s = np.trace(ginv @ ginv) ** 0.25
    np.testing.assert_allclose(w["W_KQ"][:5, :5], ginv / s, atol=1e-14)
    assert w["W_PV"][5, 5] == pytest.approx(s, rel=1e-14)


def test_loss_gap_is_loss_minus_minimum():
    rng = np.random.default_rng(3)
    lam, N = spd(rng, 3), 9
    u, U = 1.3, rng.standard_normal((3, 3))
    assert loss_gap(u * U, lam, N) == pytest.approx(
        population_loss(u, U, lam, N) - minimum_loss(lam, N), rel=1e-12
    )


def test_isotropic_minimum_loss_closed_form():
    d, N = 6, 11
    assert minimum_loss(np.eye(d), N) == pytest.approx(d / 2 * (d + 1) / (N + d + 1), rel=1e-14)


@pytest.mark.parametrize(
    "cov, N, match",
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), 3, "cov must be symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), 3, "cov must be positive definite"),
        (np.ones(3), 3, "cov must be a square"),
        (np.eye(2), 0, "N must be an integer >= 1"),
        (np.eye(2), 2.5, "N must be an integer >= 1"),
    ],
)
def test_bad_input_names_the_argument(cov, N, match):
    with pytest.raises(ValueError, match=match):
        gamma(cov, N)


def test_wrong_shape_of_U_is_rejected():
    with pytest.raises(ValueError, match="U must have shape"):
        population_loss(1.0, np.eye(3), np.eye(2), 4)
