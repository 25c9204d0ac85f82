import numpy as np
import pytest

from simulations.linear_attention import (
    PromptDistribution,
    embed,
    forward,
    loss_and_grads,
    paper_init,
    predict,
)
from simulations.linear_attention.network import effective_matrix, random_init
from theory.linear_attention import global_minimizer, limiting_weights
from theory.linear_attention import predict as theory_predict


def batch(d=3, M=7, B=16, seed=0):
    pr = PromptDistribution(d, noise_var=0.1).sample(np.random.default_rng(seed), B, M)
    return pr, embed(pr.X, pr.y, pr.x_query)


def test_fast_prediction_equals_full_forward():
    pr, E = batch()
    params = random_init(3, 1.0, np.random.default_rng(1))
    np.testing.assert_allclose(predict(params, E), forward(params, E)[:, -1, -1], rtol=1e-12, atol=1e-12)


def test_embedding_layout():
    pr, E = batch(d=2, M=4, B=1)
    np.testing.assert_array_equal(E[0, :2, :4], pr.X[0].T)
    np.testing.assert_array_equal(E[0, 2, :4], pr.y[0])
    np.testing.assert_array_equal(E[0, :2, 4], pr.x_query[0])
    assert E[0, 2, 4] == 0


@pytest.mark.parametrize("name", ["W_PV", "W_KQ"])
def test_gradients_match_central_differences(name):
    """Relative error ≤ 1e-6 in float64 over every entry (central differences, h = 1e-6)."""
    pr, E = batch(seed=2)
    params = random_init(3, 1.0, np.random.default_rng(3))
    _, grads = loss_and_grads(params, E, pr.y_query)
    num = np.zeros_like(params[name])
    h = 1e-6
    for idx in np.ndindex(num.shape):
        for sgn in (1, -1):
            p = {k: v.copy() for k, v in params.items()}
            p[name][idx] += sgn * h
            num[idx] += sgn * loss_and_grads(p, E, pr.y_query)[0] / (2 * h)
    rel = np.linalg.norm(num - grads[name]) / np.linalg.norm(num)
    assert rel < 1e-6


def test_limit_weights_give_the_closed_form_predictor():
    """The network at W*_PV, W*_KQ predicts x_qᵀ Γ⁻¹ ĥ_M on prompts of any length M (docs/linear_attention.md
    §3)."""
    lam, N = np.diag([0.5, 1.0, 2.0]), 10
    w = limiting_weights(lam, N)
    params = {"W_PV": w["W_PV"], "W_KQ": w["W_KQ"]}
    for M in (1, 10, 40):
        pr = PromptDistribution(3, cov=lam).sample(np.random.default_rng(M), 32, M)
        np.testing.assert_allclose(
            predict(params, embed(pr.X, pr.y, pr.x_query)),
            theory_predict(global_minimizer(lam, N), pr.X, pr.y, pr.x_query),
            rtol=1e-12,
        )
    np.testing.assert_allclose(effective_matrix(params), global_minimizer(lam, N), rtol=1e-12)


def test_paper_init_effective_matrix():
    p = paper_init(4, 0.3)
    np.testing.assert_allclose(effective_matrix(p), 0.3**2 * np.eye(4) / 2, rtol=1e-14)  # σ² ΘΘᵀ = σ² I/√4
