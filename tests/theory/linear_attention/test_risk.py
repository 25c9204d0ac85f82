"""Exact finite-M risk (docs/linear_attention.md §4) against Monte Carlo, and the paper's decomposition and
bound."""

import itertools

import numpy as np
import pytest

from theory.linear_attention import (
    global_minimizer,
    isotropic_risk,
    predict,
    risk_bound,
    theorem42_decomposition,
)
from theory.linear_attention import test_risk as exact_risk  # aliased: pytest would collect test_*


def mc_risk(V, S, Q, W, s2, M, n, rng, target_noise=False):
    d = V.shape[0]
    X = rng.standard_normal((n, M, d)) @ np.linalg.cholesky(S).T
    xq = rng.standard_normal((n, d)) @ np.linalg.cholesky(Q).T
    w = rng.standard_normal((n, d)) @ np.linalg.cholesky(W).T
    y = np.einsum("bmd,bd->bm", X, w) + np.sqrt(s2) * rng.standard_normal((n, M))
    target = np.einsum("bd,bd->b", xq, w) + (np.sqrt(s2) * rng.standard_normal(n) if target_noise else 0)
    e = (predict(V, X, y, xq) - target) ** 2
    return e.mean(), e.std() / np.sqrt(n)


@pytest.mark.parametrize("M, s2, shift", [(1, 0.0, 1.0), (5, 0.5, 4.0), (30, 0.0, 0.25), (12, 1.0, 1.0)])
def test_formula_within_four_standard_errors(M, s2, shift):
    rng = np.random.default_rng(M)
    d = 3
    A = rng.standard_normal((d, d))
    S = shift * (A @ A.T / d + 0.5 * np.eye(d))
    Q = np.diag([0.5, 1.0, 2.0])
    W = np.diag([1.0, 2.0, 0.5])
    V = global_minimizer(np.eye(d), 10)
    mean, se = mc_risk(V, S, Q, W, s2, M, 60_000, rng, target_noise=True)
    R = exact_risk(V, M, test_cov=S, query_cov=Q, task_cov=W, noise_var=s2, target_noise=True)
    assert abs(mean - R) < 4 * se


def test_isotropic_special_case_and_floor():
    d, N = 4, 9
    V = global_minimizer(np.eye(d), N)
    for M in (1, 7, 100):
        assert exact_risk(V, M, test_cov=np.eye(d)) == pytest.approx(isotropic_risk(d, N, M), rel=1e-13)
    gam = 1 + (d + 1) / N
    assert exact_risk(V, 10**12, test_cov=np.eye(d)) == pytest.approx(d * (1 - 1 / gam) ** 2, rel=1e-9)


def test_theorem_42_for_a_nonlinear_label_law():
    """y = wᵀx + κ(x₁² − Λ₁₁): a joint law that is not linear-Gaussian. E[xy] = Λw (odd moments vanish),
    so a = w; Σ and the best linear error are estimated from 2e6 draws; the prompt-level error by MC."""
    rng = np.random.default_rng(5)
    d, N, M, kappa = 3, 10, 6, 0.7
    lam = np.diag([1.0, 0.5, 2.0])
    w = np.array([0.5, -1.0, 0.3])
    L = np.linalg.cholesky(lam)

    def draw(shape):
        x = rng.standard_normal(shape + (d,)) @ L.T
        return x, x @ w + kappa * (x[..., 0] ** 2 - lam[0, 0])

    x, y = draw((2_000_000,))
    xy = x * y[:, None]
    Sigma = np.cov(xy.T)
    best = np.mean((y - x @ w) ** 2)  # = κ² E(x₁² − Λ₁₁)² = 2κ²Λ₁₁²
    assert best == pytest.approx(2 * kappa**2, rel=0.01)
    pred = theorem42_decomposition(lam, N, M, a=w, Sigma=Sigma, best_linear_error=2 * kappa**2)["total"]
    X, Y = draw((200_000, M))
    xq, yq = draw((200_000,))
    e = (predict(global_minimizer(lam, N), X, Y, xq) - yq) ** 2
    assert abs(e.mean() - pred) < 4 * e.std() / np.sqrt(len(e)) + 0.003 * pred  # + Σ's own MC error


def test_bound_dominates_exact_risk():
    rng = np.random.default_rng(6)
    for _ in range(50):
        d = int(rng.integers(1, 8))
        A = rng.standard_normal((d, d))
        lam = A @ A.T / d + 0.1 * np.eye(d)
        N, M = int(rng.integers(1, 100)), int(rng.integers(1, 100))
        assert exact_risk(global_minimizer(lam, N), M, test_cov=lam) <= risk_bound(lam, N, M)


def test_predict_shapes_and_errors():
    rng = np.random.default_rng(7)
    X, y, xq = rng.standard_normal((4, 6, 3)), rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    assert predict(np.eye(3), X, y, xq).shape == (4,)
    with pytest.raises(ValueError, match="y must have shape"):
        predict(np.eye(3), X, y[:, :5], xq)
    with pytest.raises(ValueError, match="V must have shape"):
        predict(np.eye(2), X, y, xq)
    # a one-example prompt (M = 1) is valid: ŷ = x_qᵀ V x₁ y₁; an empty one (M = 0) is not
    V = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(predict(V, X[:, :1], y[:, :1], xq), (xq @ V * X[:, 0]).sum(-1) * y[:, 0])
    with pytest.raises(ValueError, match="M >= 1"):
        predict(V, X[:, :0], y[:, :0], xq)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"M": 0}, "M must be"),
        ({"noise_var": -1.0}, "noise_var must be"),
        ({"query_cov": -np.eye(2)}, "query_cov must be positive semidefinite"),
        ({"test_cov": np.array([[1.0, 3.0], [3.0, 1.0]])}, "test_cov must be positive definite"),
    ],
)
def test_risk_bad_input(kw, match):
    args = {"V": np.eye(2), "M": 3, "test_cov": np.eye(2), **kw}
    V, M = args.pop("V"), args.pop("M")
    with pytest.raises(ValueError, match=match):
        exact_risk(V, M, **args)


def test_predict_with_a_non_symmetric_V_is_xq_V_h_written_out():
    """ŷ = Σ_ij x_q,i V_ij ĥ_j, ĥ = (1/M) Σ_m y_m x_m, by explicit loops, for a V with V ≠ Vᵀ (a transposed
    V, or the wrong axis of X, gives a different number); float64 rounding only, so rtol 1e-12."""
    rng = np.random.default_rng(11)
    B, M, d = 5, 4, 3
    X, y, xq = rng.standard_normal((B, M, d)), rng.standard_normal((B, M)), rng.standard_normal((B, d))
    V = np.array([[0.5, 2.0, 0.0], [-1.0, 0.3, 0.7], [0.2, -0.4, 1.1]])
    want = np.zeros(B)
    for b in range(B):
        h = [sum(y[b, m] * X[b, m, j] for m in range(M)) / M for j in range(d)]
        want[b] = sum(xq[b, i] * V[i, j] * h[j] for i in range(d) for j in range(d))
    np.testing.assert_allclose(predict(V, X, y, xq), want, rtol=1e-12)
    assert not np.allclose(predict(V.T, X, y, xq), want, rtol=1e-3)  # the case tells V from Vᵀ
    # one unit entry: V = e_1 e_3ᵀ reads x_q,1 · ĥ_3
    E13 = np.zeros((d, d))
    E13[0, 2] = 1.0
    np.testing.assert_allclose(predict(E13, X, y, xq), xq[:, 0] * np.mean(y * X[:, :, 2], axis=1), rtol=1e-12)


def test_risk_of_a_non_symmetric_V_matches_monte_carlo_and_its_limit():
    """V ≠ Vᵀ, Q ≠ S, W ≠ I, noise: the exact finite-M risk against a Monte Carlo mean (4 standard errors,
    a 6e-5 chance of a false failure for a Gaussian mean), and M = ∞ against tr((SVᵀ − I) Q (VS − I) W),
    the limit ĥ → S w written out here (ŷ − wᵀx_q → x_qᵀ(VS − I)w); that one is exact to rounding."""
    rng = np.random.default_rng(12)
    d, M, s2 = 3, 4, 0.3
    V = np.array([[0.6, 0.9, 0.0], [-0.5, 0.4, 0.0], [0.0, 0.3, 0.5]])
    A = rng.standard_normal((d, d))
    S = A @ A.T / d + 0.5 * np.eye(d)
    Q, W = np.diag([0.5, 1.0, 2.0]), np.diag([1.0, 2.0, 0.5])
    mean, se = mc_risk(V, S, Q, W, s2, M, 80_000, rng)
    R = exact_risk(V, M, test_cov=S, query_cov=Q, task_cov=W, noise_var=s2)
    assert abs(mean - R) < 4 * se
    # the transposed V has another risk (≈ 20 s.e. away): the Monte Carlo check tells V from Vᵀ
    R_t = exact_risk(V.T, M, test_cov=S, query_cov=Q, task_cov=W, noise_var=s2)
    assert abs(R_t - R) > 12 * se
    D = V @ S - np.eye(d)
    limit = np.trace(D.T @ Q @ D @ W)
    assert exact_risk(V, np.inf, test_cov=S, query_cov=Q, task_cov=W, noise_var=s2) == pytest.approx(
        limit, rel=1e-12
    )


def test_a_stack_of_non_symmetric_Vs_is_each_one_and_one_V_one_M_is_a_float():
    """V of shape (2, 3, d, d) and M of shape (2,): entry [a, b, m] is the risk of V[a, b] at M[m], each
    computed alone (a float; the single-V path is checked against Monte Carlo above). The stack must
    transpose each matrix, not the stack axes."""
    rng = np.random.default_rng(5)
    d = 3
    Vs = rng.standard_normal((2, 3, d, d))
    A = rng.standard_normal((d, d))
    S = A @ A.T / d + 0.5 * np.eye(d)
    kw = {"test_cov": S, "query_cov": np.diag([0.5, 1.0, 2.0]), "task_cov": np.diag([1.0, 2.0, 0.5])}
    R = exact_risk(Vs, [4, np.inf], noise_var=0.3, **kw)
    assert R.shape == (2, 3, 2)
    for a, b, (m, M) in itertools.product(range(2), range(3), enumerate([4, np.inf])):
        one = exact_risk(Vs[a, b], M, noise_var=0.3, **kw)
        assert type(one) is float
        assert R[a, b, m] == pytest.approx(one, rel=1e-12)
    assert exact_risk(Vs[0, 0], [4], noise_var=0.3, **kw).shape == (1,)


def test_risk_bound_written_out():
    """(d + 1) tr Λ / M + (1 + 2d + d² κ) tr Λ / N² for Λ = diag(1, 2, 4) (tr 7, κ = 4), N = 5, M = 7:
    4·7/7 + (1 + 6 + 36)·7/25 = 4 + 12.04 = 16.04."""
    assert risk_bound(np.diag([1.0, 2.0, 4.0]), 5, 7) == pytest.approx(16.04, rel=1e-14)
    # the two terms separately: M → large leaves the 1/N² term, N → large the 1/M term
    assert risk_bound(np.diag([1.0, 2.0, 4.0]), 10**6, 7) == pytest.approx(4.0, rel=1e-9)
    assert risk_bound(np.diag([1.0, 2.0, 4.0]), 5, 10**9) == pytest.approx(12.04, rel=1e-7)


def test_expected_risk_over_random_covariances_matches_monte_carlo():
    """E over Λ_new = c·diag(Exp(1)) of the exact risk (diagonal V) against the mean of ``test_risk`` over
    sampled Λ_new: within 4 standard errors of that mean (a polynomial of degree 3 in Exp entries: finite
    variance)."""
    from theory.linear_attention import RandomDiagonalCovariance

    law = RandomDiagonalCovariance.exponential(3)
    V = np.diag([0.3, 0.25, 0.4])
    rng = np.random.default_rng(11)
    lam = 2.0 * rng.exponential(size=(20_000, 3))
    for M in (1, 4, 30):
        r = np.array([exact_risk(V, M, test_cov=np.diag(row)) for row in lam[:4000]])
        want, se = r.mean(), r.std(ddof=1) / np.sqrt(len(r))
        assert abs(law.expected_risk(V, M, 2.0) - want) < 4 * se
    limit = np.array([exact_risk(V, np.inf, test_cov=np.diag(row)) for row in lam[:4000]])
    assert abs(law.expected_risk(V, np.inf, 2.0) - limit.mean()) < 4 * limit.std(ddof=1) / np.sqrt(4000)
    with pytest.raises(ValueError, match="V must be diagonal"):
        law.expected_risk(np.ones((3, 3)), 5)


def test_expected_risk_is_a_float_for_one_length_and_an_array_for_several():
    """RandomDiagonalCovariance.expected_risk: a number M gives a float, a list of lengths the array of
    the single-length values, in their order (a list of one length included)."""
    from theory.linear_attention import RandomDiagonalCovariance

    law = RandomDiagonalCovariance.exponential(3)
    V = np.diag([0.3, 0.25, 0.4])
    one = [law.expected_risk(V, M, 2.0) for M in (1, 4, 30)]
    assert all(type(r) is float for r in one) and len(set(one)) == 3
    np.testing.assert_array_equal(law.expected_risk(V, [1, 4, 30], 2.0), one)
    assert np.shape(law.expected_risk(V, [4], 2.0)) == (1,)
