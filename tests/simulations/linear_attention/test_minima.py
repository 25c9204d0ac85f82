"""Global minima of the full-parameter LSA loss (docs/linear_attention.md §3).

For d ≥ 2 every global minimum has r_{1:d} = 0, w21 = 0 and u·U = Γ⁻¹. At d = 1 there is a second family:
u = w22^{PV} = 0, W11^{KQ} = 0 and r₁ w21 = Γ⁻¹. There ŷ = x_q r₁ w21 (Σ y_i x_i / M) (the other terms carry
u or W11), the predictor of the minimum, so the loss is the minimum while u·U = 0; V_eff = r₁ w21 = Γ⁻¹ still.
"""

import numpy as np

from simulations.linear_attention import PromptDistribution, effective_matrix, embed, loss_and_grads, predict
from theory.linear_attention import global_minimizer, minimum_loss
from theory.linear_attention import predict as closed_form


def test_at_d1_a_global_minimum_with_u_zero_exists():
    lam, N = np.array([[1.7]]), 12
    g_inv = float(global_minimizer(lam, N)[0, 0])
    r1 = 0.8
    params = {"W_PV": np.array([[0.0, 0.0], [r1, 0.0]]), "W_KQ": np.array([[0.0, 0.0], [g_inv / r1, 0.0]])}
    assert params["W_PV"][1, 1] == 0.0 and params["W_KQ"][0, 0] == 0.0  # u = 0 and U = W11 = 0: u·U = 0
    np.testing.assert_allclose(effective_matrix(params), [[g_inv]], rtol=1e-14)
    pr = PromptDistribution(1, cov=lam).sample(np.random.default_rng(0), 50_000, N)
    E = embed(pr.X, pr.y, pr.x_query)
    # the same predictions as the minimum's closed form, prompt by prompt
    np.testing.assert_allclose(predict(params, E), closed_form([[g_inv]], pr.X, pr.y, pr.x_query), rtol=1e-12)
    # and the Monte Carlo loss is the minimum loss, within 4 standard errors
    err = 0.5 * (predict(params, E) - pr.y_query) ** 2
    assert abs(err.mean() - minimum_loss(lam, N)) < 4 * err.std(ddof=1) / np.sqrt(len(err))
    # it is a critical point of the full loss up to Monte Carlo noise: gradients at the level of its s.e.
    _, grads = loss_and_grads(params, E, pr.y_query)
    assert max(np.abs(g).max() for g in grads.values()) < 0.05


def test_for_d2_a_rank_one_cross_term_cannot_reach_the_minimum():
    """With u = 0 and W11 = 0, V_eff = r w21ᵀ has rank 1 < d = 2, so it cannot equal Γ⁻¹: the best such
    predictor has a loss gap of at least ½ min over rank-1 V of tr(ΓΛ(V − Γ⁻¹)Λ(V − Γ⁻¹)ᵀ) > 0."""
    lam, N = np.eye(2), 12
    g_inv = global_minimizer(lam, N)
    r = np.array([1.0, 0.0])
    w21 = g_inv[0] / 1.0
    params = {"W_PV": np.zeros((3, 3)), "W_KQ": np.zeros((3, 3))}
    params["W_PV"][2, :2], params["W_KQ"][2, :2] = r, w21
    V = effective_matrix(params)
    assert np.linalg.matrix_rank(V) == 1
    pr = PromptDistribution(2).sample(np.random.default_rng(1), 50_000, N)
    err = 0.5 * (predict(params, embed(pr.X, pr.y, pr.x_query)) - pr.y_query) ** 2
    assert err.mean() - minimum_loss(lam, N) > 10 * err.std(ddof=1) / np.sqrt(len(err))
