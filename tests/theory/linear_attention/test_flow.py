"""The reduced flow against reference problems with exact solutions, and its invariants."""

import warnings

import numpy as np
import pytest

from tests.systems.lsa_flows import CASES, isotropic_exact_V
from theory.linear_attention import (
    ConvergenceConditionWarning,
    RandomDiagonalCovariance,
    global_minimizer,
    integrate_flow,
    pl_rate,
)

RTOL = 1e-10


@pytest.mark.parametrize("path", ["eigen", "dense"])
@pytest.mark.parametrize("d, lam, N, sigma", CASES)
def test_flow_matches_exact_logistic_solution(path, d, lam, N, sigma):
    """Error measured in units of the solver tolerance (as scipy's own ivp tests do)."""
    cov = lam * np.eye(d)
    t_end = 10.0 / lam**2
    grid = np.linspace(0, t_end, 40)
    res = integrate_flow(cov, N, sigma, t_max=t_end, gap_tol=None, path=path, t_eval=grid, rtol=RTOL)
    exact = isotropic_exact_V(d, lam, N, sigma, grid)
    V_diag = np.einsum("tii->ti", res.V)
    err = np.max(np.abs(V_diag - exact[:, None]) / np.abs(exact[:, None]))
    assert err < 1000 * RTOL  # global error of a tolerance-controlled solver: a few hundred × rtol at most
    assert res.nfev < 20_000


def test_converges_to_gamma_inverse_and_conserves_invariant():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    lam = A @ A.T / 6 + 0.3 * np.eye(6)
    th = rng.standard_normal((6, 4))
    th /= np.sqrt(np.linalg.norm(th @ th.T))
    res = integrate_flow(lam, 12, 0.3, theta=th, t_max=1e6, gap_tol=1e-10)
    assert res.t_converged is not None and res.gap[-1] <= 1e-10 * (1 + 1e-6)
    assert res.conserved_drift < 1e-8
    # gap 1e-10 bounds ‖Δ(u·U)‖ by √(2 gap / λ_min(ΓΛ⊗Λ))
    tol = np.sqrt(2e-10 / (np.min(np.linalg.eigvalsh(lam)) ** 3))
    assert np.max(np.abs(res.V[-1] - global_minimizer(lam, 12))) < tol


def test_eigen_and_dense_paths_agree_along_the_trajectory():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 5))
    lam = A @ A.T / 5 + 0.5 * np.eye(5)
    th = rng.standard_normal((5, 5))
    th /= np.sqrt(np.linalg.norm(th @ th.T))  # not commuting with Λ: off-diagonal modes are exercised
    grid = np.linspace(0, 20, 30)
    a = integrate_flow(lam, 8, 0.4, theta=th, t_max=20, gap_tol=None, t_eval=grid)
    b = integrate_flow(lam, 8, 0.4, theta=th, t_max=20, gap_tol=None, t_eval=grid, path="dense")
    np.testing.assert_allclose(a.V, b.V, rtol=0, atol=1e-7)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-7)


def test_pl_bound_holds_along_trajectories():
    rng = np.random.default_rng(2)
    for _ in range(10):
        d = int(rng.integers(1, 6))
        A = rng.standard_normal((d, d))
        lam = A @ A.T / d + 0.2 * np.eye(d)
        N = int(rng.integers(1, 40))
        from theory.linear_attention import paper_sigma

        sigma = paper_sigma(lam, N, rng.uniform(0.2, 1.8))
        res = integrate_flow(lam, N, sigma, t_max=1e6, gap_tol=1e-12)
        mu = pl_rate(lam, N, sigma)
        assert mu > 0
        assert np.all(res.gap <= np.exp(-mu * res.t) * res.gap[0] * (1 + 1e-6))


def test_random_flow_with_degenerate_law_equals_fixed_flow():
    """A 'random' covariance that is always diag(λ) must give the fixed-Λ flow."""
    lam = np.array([0.5, 1.0, 2.0])
    law = RandomDiagonalCovariance.from_samples(np.tile(lam, (10, 1)))
    grid = np.linspace(0, 30, 20)
    a = integrate_flow(law, 6, 0.4, t_max=30, gap_tol=None, t_eval=grid)
    b = integrate_flow(np.diag(lam), 6, 0.4, t_max=30, gap_tol=None, t_eval=grid)
    np.testing.assert_allclose(a.V, b.V, atol=1e-8)
    np.testing.assert_allclose(law.minimizer(6), global_minimizer(np.diag(lam), 6), atol=1e-14)


def test_exponential_law_moments_and_one_third_limit():
    law = RandomDiagonalCovariance.exponential(4)
    rng = np.random.default_rng(3)
    sampled = RandomDiagonalCovariance.from_samples(rng.exponential(size=(400_000, 4)))
    np.testing.assert_allclose(sampled.P, law.P, rtol=0.03)  # E λ³ has relative s.e. ≈ 4.4/√n ≈ 0.007
    np.testing.assert_allclose(sampled.T, law.T, rtol=0.03)
    np.testing.assert_allclose(np.diag(law.minimizer(10**9)), 1 / 3, rtol=1e-8)
    np.testing.assert_allclose(np.diag(law.limit_coefficient()), 1 / 3, rtol=1e-15)


def test_warns_when_convergence_condition_violated():
    with pytest.warns(ConvergenceConditionWarning, match="sigma"):
        integrate_flow(np.eye(3), 5, 2.0, t_max=1.0, gap_tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrate_flow(np.eye(3), 5, 0.3, t_max=1.0, gap_tol=None)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"sigma": 0.0}, "sigma must be"),
        ({"sigma": -1.0}, "sigma must be"),
        ({"N": 0}, "N must be"),
        ({"theta": np.eye(3)}, "theta must satisfy"),
        ({"theta": np.eye(2)}, "theta must be a"),
        ({"path": "fast"}, "path must be"),
    ],
)
def test_bad_arguments(kw, match):
    args = {"cov": np.eye(3), "N": 5, "sigma": 0.3, **kw}
    with pytest.raises(ValueError, match=match):
        integrate_flow(**args, t_max=1.0)
