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


def test_effective_matrix_with_its_cross_term_is_the_w_odd_part_of_the_prediction():
    """At generic weights r_{1:d} and w21 are non-zero, so V_eff = r_{d+1} W11 + r_{1:d} w21ᵀ has a cross
    term. The part of ŷ odd in the labels is (ŷ(y) − ŷ(−y))/2 = ĥᵀ V_eff x_q (docs/linear_attention.md §1);
    ŷ is the LSA output E + W^{PV} E (Eᵀ W^{KQ} E)/M written out here, entry (d+1, M+1). Float64 rounding
    only: rtol 1e-10."""
    d, M, B = 3, 6, 8
    rng = np.random.default_rng(21)
    params = random_init(d, 1.0, rng)
    cross = np.outer(params["W_PV"][-1, :d], params["W_KQ"][d, :d])
    assert np.linalg.norm(cross) > 0.1 * np.linalg.norm(effective_matrix(params))  # the term is there

    def lsa_output(X, y, xq):
        out = np.zeros(B)
        for b in range(B):
            E = np.zeros((d + 1, M + 1))
            E[:d, :M], E[d, :M], E[:d, M] = X[b].T, y[b], xq[b]
            f = E + params["W_PV"] @ E @ (E.T @ params["W_KQ"] @ E) / M
            out[b] = f[d, M]
        return out

    X, xq = rng.standard_normal((B, M, d)), rng.standard_normal((B, d))
    y = rng.standard_normal((B, M))
    odd = (lsa_output(X, y, xq) - lsa_output(X, -y, xq)) / 2
    h = np.einsum("bm,bmd->bd", y, X) / M
    np.testing.assert_allclose(np.einsum("bi,ij,bj->b", h, effective_matrix(params), xq), odd, rtol=1e-10)
    without = params["W_PV"][-1, d] * params["W_KQ"][:d, :d]
    assert not np.allclose(np.einsum("bi,ij,bj->b", h, without, xq), odd, rtol=1e-3)  # the cross term counts


@pytest.mark.parametrize("d", [1, 2])
def test_random_init_entries_have_variance_scale_squared_over_d_plus_one(d):
    """Every entry iid N(0, scale²/(d + 1)): the pooled sample variance of 8000 (d+1)² entries per matrix,
    within 5 standard errors (s.e. of a Gaussian sample variance: var·√(2/n) ≈ 1–2 %), and mean 0."""
    scale, draws = 1.5, 2000
    rng = np.random.default_rng(40 + d)
    ps = [random_init(d, scale, rng) for _ in range(draws)]
    for k in ("W_PV", "W_KQ"):
        x = np.array([p[k] for p in ps]).ravel()
        var = scale**2 / (d + 1)
        assert abs(np.mean(x**2) - var) < 5 * var * np.sqrt(2 / x.size)
        assert abs(np.mean(x)) < 5 * np.sqrt(var / x.size)
