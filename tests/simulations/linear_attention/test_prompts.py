import numpy as np
import pytest

from simulations.linear_attention import PromptDistribution
from simulations.seeding import batch_rng


def test_labels_are_linear_without_noise_and_covariance_is_right():
    S = np.array([[2.0, 0.5], [0.5, 1.0]])
    pr = PromptDistribution(2, cov=S).sample(np.random.default_rng(0), 20000, 5)
    np.testing.assert_allclose(pr.y, np.einsum("bmd,bd->bm", pr.X, pr.w), rtol=1e-12, atol=1e-12)
    emp = np.einsum("bmi,bmj->ij", pr.X, pr.X) / (20000 * 5)
    # entrywise s.e. of a covariance estimate ≈ √((S_ii S_jj + S_ij²)/n) ≤ 0.01 here; 5 s.e.
    np.testing.assert_allclose(emp, S, atol=0.05)


def test_shifts_noise_and_fixed_task():
    w = np.array([3.0, -4.0])
    dist = PromptDistribution(2, query_cov=4 * np.eye(2), fixed_task=w, noise_var=0.25)
    pr = dist.sample(np.random.default_rng(1), 20000, 3)
    assert np.all(pr.w == w)
    assert np.var(pr.x_query) == pytest.approx(4.0, rel=0.05)
    assert np.var(pr.y - np.einsum("bmd,bd->bm", pr.X, pr.w)) == pytest.approx(0.25, rel=0.05)
    np.testing.assert_allclose(pr.y_query, pr.x_query @ w)  # target noise off by default


def test_random_covariance_prompts_have_exp_variances():
    pr = PromptDistribution(3, random_cov="exponential").sample(np.random.default_rng(2), 40000, 4)
    # E x² = E λ = 1, E x⁴ = 3 E λ² = 6 for Exp(1) (a Gaussian would give 3)
    assert np.mean(pr.X**2) == pytest.approx(1.0, rel=0.03)
    assert np.mean(pr.X**4) == pytest.approx(6.0, rel=0.08)


def test_batch_is_a_function_of_seed_and_step():
    dist = PromptDistribution(3)
    a = dist.sample(batch_rng(7, 11), 8, 4)
    b = dist.sample(batch_rng(7, 11), 8, 4)
    c = dist.sample(batch_rng(7, 12), 8, 4)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"d": 0}, "d must be"),
        ({"d": 2, "cov": np.eye(3)}, "cov must have shape"),
        ({"d": 2, "noise_var": -0.1}, "noise_var must be"),
        ({"d": 2, "random_cov": "wishart"}, "random_cov must be"),
        ({"d": 2, "fixed_task": np.ones(3)}, "fixed_task must be"),
    ],
)
def test_bad_distribution(kw, match):
    with pytest.raises(ValueError, match=match):
        PromptDistribution(**kw)


def test_mc_risk_is_the_mean_squared_error_over_n_prompts_with_its_standard_error():
    """The oracle ŷ = wᵀx_q on noise-free targets has error 0 exactly; the zero predictor's risk is
    E(wᵀx_q)² = tr(WQ) = 3 for Q = diag(1, 2), W = I (within 4 s.e.), and its standard error is
    √(Var (wᵀx_q)² / n) with Var = 3((tr Q)² + 2 tr Q²) − (tr Q)² = 48 (E z⁴ = 3 E‖x‖⁴ given z | x ~
    N(0, ‖x‖²)), to 15 % (the estimate's own spread is ≈ 3 % at n = 20000); prompts are drawn in chunks
    that add up to n."""
    from simulations.linear_attention import mc_risk, zero_predict

    dist = PromptDistribution(2, query_cov=np.diag([1.0, 2.0]))
    oracle = mc_risk(
        lambda pr: np.einsum("bd,bd->b", pr.x_query, pr.w), dist, 3, 500, np.random.default_rng(3)
    )
    assert oracle == (0.0, 0.0)
    mean, se = mc_risk(zero_predict, dist, 3, 20000, np.random.default_rng(4))
    assert abs(mean - 3.0) < 4 * se
    assert se == pytest.approx(np.sqrt(48 / 20000), rel=0.15)
    sizes = []
    mc_risk(
        lambda pr: sizes.append(len(pr.y_query)) or pr.y_query, dist, 3, 2500, np.random.default_rng(5), 1000
    )
    assert sizes == [1000, 1000, 500]


def test_ridge_and_least_squares_predictors_written_out():
    """Ridge: x_qᵀ (XᵀX + λI)⁻¹ Xᵀy per prompt by an explicit solve (rtol 1e-10); λ = 0 is least squares,
    which recovers noise-free labels exactly once M >= d; the Bayes-optimal penalty is s²/τ²."""
    from simulations.linear_attention import ols_predict, optimal_ridge_penalty, ridge_predict

    pr = PromptDistribution(3, noise_var=0.5).sample(np.random.default_rng(6), 6, 5)
    lam = 0.7
    want = [
        pr.x_query[b] @ np.linalg.solve(pr.X[b].T @ pr.X[b] + lam * np.eye(3), pr.X[b].T @ pr.y[b])
        for b in range(6)
    ]
    np.testing.assert_allclose(ridge_predict(lam)(pr), want, rtol=1e-10)
    assert ridge_predict(0.0) is ols_predict
    clean = PromptDistribution(3).sample(np.random.default_rng(7), 6, 4)
    np.testing.assert_allclose(ols_predict(clean), clean.y_query, rtol=1e-9, atol=1e-12)
    assert optimal_ridge_penalty(0.5, 2.0) == 0.25 and optimal_ridge_penalty(0.3) == 0.3


def test_task_covariance_and_target_noise_on_repeated_draws():
    """w ~ N(0, W) with W written out, on two draws from one distribution (its square roots are computed
    once); with ``target_noise`` y_q carries noise of variance s² = 0.36. n = 40000: the s.e. of a
    variance estimate is ≈ √(2/n)·var ≈ 0.7% of it; tolerance 5%."""
    W = np.array([[1.0, 0.6], [0.6, 2.0]])
    dist = PromptDistribution(2, task_cov=W, noise_var=0.36, target_noise=True)
    for seed in (3, 4):
        pr = dist.sample(np.random.default_rng(seed), 40000, 2)
        np.testing.assert_allclose(pr.w.T @ pr.w / 40000, W, atol=0.05)
        assert np.var(pr.y_query - np.einsum("bd,bd->b", pr.x_query, pr.w)) == pytest.approx(0.36, rel=0.05)
