import numpy as np
import pytest

from theory.induction_head import (
    SampledContexts,
    finite_data_loss,
    integrate_finite_nested_logits,
    integrate_nested_logits,
    model,
    nested_logit_loss,
)


def _random_contexts(rng, S=50, N=4, L=9, D=20, eps=0.3, B=2):
    """Gaussian items as in docs/induction_head.md §1: B copies of the target's class among N/B classes with
    distinct labels."""
    m = N // B
    mu = rng.normal(size=(S, m, D)) / np.sqrt(D)
    slots = np.array([rng.permutation(np.repeat(np.arange(m), B)) for _ in range(S)])

    def item(means):
        return (means + eps * rng.normal(size=means.shape) / np.sqrt(D)) / np.sqrt(1 + eps**2)

    x = item(np.take_along_axis(mu, slots[:, :, None], axis=1))
    xq = item(mu[:, 0])
    labels = np.array([rng.choice(L, m, replace=False) for _ in range(S)])
    return SampledContexts(
        np.einsum("snd,sd->sn", x, xq), np.take_along_axis(labels, slots, axis=1), labels[:, 0], L
    )


@pytest.mark.parametrize("theta", [(0.0, 0.0, 0.0), (0.4, -1.3, 2.5), (-2.0, 6.0, 9.0)])
def test_idealised_context_is_the_nested_logit_model(theta):
    N, L = 5, 13
    ctx = SampledContexts.idealised(N, L)
    loss, p_right, g = finite_data_loss(theta, ctx, grad=True)
    assert loss == pytest.approx(float(nested_logit_loss(*theta, N, L)), rel=1e-12, abs=1e-14)
    assert p_right == pytest.approx(float(np.exp(-loss)), rel=1e-12)
    np.testing.assert_allclose(g, np.array(model(3)["f_grad"](*theta, N, L), float), rtol=1e-10, atol=1e-14)


def test_gradient_matches_finite_differences_on_sampled_contexts():
    ctx = _random_contexts(np.random.default_rng(0))
    theta = np.array([0.3, 2.0, 1.5])
    _, _, g = finite_data_loss(theta, ctx, grad=True)
    h = 1e-6
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        num = (finite_data_loss(theta + e, ctx)[0] - finite_data_loss(theta - e, ctx)[0]) / (2 * h)
        assert num == pytest.approx(g[k], rel=1e-6, abs=1e-10)


def test_flow_on_idealised_context_matches_the_sympy_flow():
    N, L = 4, 16
    ref = integrate_nested_logits(N, L, 0.0, 1e4)
    got = integrate_finite_nested_logits(SampledContexts.idealised(N, L), 0.0, 1e4)
    assert got.t_transition == pytest.approx(ref.t_transition, rel=1e-4)


def test_plateau_is_near_B_over_N_and_more_noise_delays_the_transition():
    rng = np.random.default_rng(1)
    # with α = 0 every context token gets 1/N of the attention, so the right label carries B/N = 1/2 and so
    # does the other context label: for large ξ the right-label probability is 1/2 (the plateau at B/N)
    ctx = _random_contexts(rng, S=400, N=4, L=16, D=64, eps=0.1, B=2)
    _, p_plateau = finite_data_loss((0.0, 0.0, 60.0), ctx)
    assert p_plateau == pytest.approx(0.5, abs=1e-6)  # two of the four context labels are right: ties
    clean = integrate_finite_nested_logits(
        _random_contexts(np.random.default_rng(2), S=400, B=1, eps=0.0, D=64), 0.0, 1e4
    )
    noisy = integrate_finite_nested_logits(
        _random_contexts(np.random.default_rng(2), S=400, B=1, eps=1.0, D=64), 0.0, 1e4
    )
    assert clean.t_transition is not None and noisy.t_transition is not None
    # ε = 1 halves the matching overlap (1/(1 + ε²)), which halves α's and β₁'s drive: the flow measured
    # 1.68× slower at these settings; 1.2× leaves room for the sampled cross-overlaps
    assert noisy.t_transition > 1.2 * clean.t_transition


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="context_labels"):
        SampledContexts(np.zeros((2, 3)), np.zeros((2, 4), int), np.zeros(2, int), 5)
    with pytest.raises(ValueError, match="target"):
        SampledContexts(np.zeros((2, 3)), np.zeros((2, 3), int), np.array([0, 7]), 5)
    with pytest.raises(ValueError, match="init"):
        integrate_finite_nested_logits(SampledContexts.idealised(3, 5), (0, 0), 10.0)


def test_several_contexts_average_their_single_context_losses_written_out():
    """ℒ over four different contexts (other overlaps, labels, targets; repeated labels; a target label
    absent from its context) is the mean of the single-context losses −log softmax(z)_y with
    z_m = ξ Σ_j p_j [ℓ_j = m], p = softmax_j(α σ(β₁) g_j) (module docstring), written out here with loops;
    p_right is the mean right-label probability. Only rounding differs: rtol 1e-12. The gradient is checked
    by central differences (h = 1e-6: truncation ~1e-12, rounding ~1e-10 on a loss of order 1; rtol 1e-6)."""
    L = 6
    g = np.array([[0.9, 0.1, -0.2, 0.3], [0.2, 1.1, 0.0, -0.5], [0.05, 0.4, 0.8, 0.6], [1.0, 0.0, 0.0, 0.0]])
    lab = np.array([[0, 1, 2, 3], [4, 4, 1, 5], [2, 0, 2, 5], [1, 3, 0, 2]])
    y = np.array([0, 4, 2, 5])
    b1, alpha, xi = 0.4, 2.3, 3.1
    losses, right = [], []
    for s in range(4):
        sig = 1 / (1 + np.exp(-b1))
        e = [np.exp(alpha * sig * g[s, j]) for j in range(4)]
        p = [v / sum(e) for v in e]
        z = [xi * sum(p[j] for j in range(4) if lab[s, j] == m) for m in range(L)]
        q = np.exp(z[y[s]]) / sum(np.exp(v) for v in z)
        losses.append(-np.log(q))
        right.append(q)
    ctx = SampledContexts(g, lab, y, L)
    loss, p_right, grad = finite_data_loss((b1, alpha, xi), ctx, grad=True)
    assert loss == pytest.approx(np.mean(losses), rel=1e-12)
    assert p_right == pytest.approx(np.mean(right), rel=1e-12)
    theta, h = np.array([b1, alpha, xi]), 1e-6
    for k in range(3):
        step = np.zeros(3)
        step[k] = h
        num = (finite_data_loss(theta + step, ctx)[0] - finite_data_loss(theta - step, ctx)[0]) / (2 * h)
        assert grad[k] == pytest.approx(num, rel=1e-6, abs=1e-10)


def test_the_loss_is_stable_at_large_parameters():
    """Both softmaxes are shifted by their maximum (stable log-sum-exp): at α = 1500, ξ = 800 the
    unshifted exponentials overflow (e^{750}, e^{400} fine, but e^{1500} is not). One context with two
    equally matching items of labels 0 and 1 (target 0) and a third item: p = (½, ½, e^{−750}), z = (400,
    400, ~0, 0, 0), so ℒ = log(2 + 3e^{−400}) = log 2 and P(right) = ½ to rounding (rtol 1e-12)."""
    ctx = SampledContexts(np.array([[1.0, 1.0, 0.0]]), np.array([[0, 1, 2]]), np.array([0]), 5)
    with np.errstate(over="raise", invalid="raise"):
        loss, p_right, grad = finite_data_loss((0.0, 1500.0, 800.0), ctx, grad=True)
    assert loss == pytest.approx(np.log(2), rel=1e-12) and p_right == pytest.approx(0.5, rel=1e-12)
    assert np.all(np.isfinite(grad))


def test_loss_tol_stops_the_flow_and_reports_the_time_it_was_reached():
    """With loss_tol the flow stops at the first time ℒ = loss_tol: that is the last time of the
    trajectory, the loss there equals loss_tol (to the integrator's event tolerance), and it comes after
    the transition (½ right-label probability: ℒ = log 2 there, above loss_tol = 0.3)."""
    tr = integrate_finite_nested_logits(SampledContexts.idealised(4, 16), 0.0, 1e4, loss_tol=0.3)
    assert tr.t_converged is not None and tr.t_converged == pytest.approx(tr.t[-1], rel=1e-12)
    assert tr.loss[-1] == pytest.approx(0.3, rel=1e-5)
    assert tr.t_transition < tr.t_converged
    assert integrate_finite_nested_logits(SampledContexts.idealised(4, 16), 0.0, 1e4).t_converged is None
