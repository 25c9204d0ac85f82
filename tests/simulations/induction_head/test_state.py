"""The nested-logit state (β₁, α, ξ) read from attention maps and logits (docs/induction_head.md §6)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simulations.induction_head import DataConfig, MinimalInductionHead, TrainConfig, network
from simulations.induction_head.compare import measured_state, theory_contexts, theory_times
from simulations.induction_head.measures import nested_logit_state
from simulations.induction_head.training import initial_params
from theory.induction_head import integrate_finite_nested_logits, integrate_nested_logits


def _hand_built(beta1, alpha, xi, N=4, L=10, B=1, n=6, shift=0.7, seed=0):
    """Attention maps and logits written out from the theory's forms (docs §6) for ``n`` sequences:
    label token j attends σ(β₁) to its item; the target gives matching label tokens the logit α s, the others
    0, plus 0.3 of its attention to non-label tokens; logits ξ × (weight) on context labels, 0 on the absent
    ones, plus a per-sequence constant (softmax cannot see it)."""
    rng = np.random.default_rng(seed)
    T = 2 * N + 1
    s = 1 / (1 + np.exp(-beta1))
    attn1 = np.zeros((n, T, T))
    lab = np.arange(1, 2 * N, 2)
    attn1[:, lab, lab - 1], attn1[:, lab, lab] = s, 1 - s
    distinct = N // B
    labels = np.array([rng.permutation(L)[:distinct] for _ in range(n)])
    slots = np.array([rng.permutation(np.repeat(np.arange(distinct), B)) for _ in range(n)])
    context_labels = np.take_along_axis(labels, slots, axis=1)
    target = rng.integers(0, distinct, n)
    match = slots == target[:, None]
    w = np.where(match, np.exp(alpha * s), 1.0)
    w = w / w.sum(axis=1, keepdims=True)  # weight of each label token among the label tokens
    attn2 = np.zeros((n, T))
    attn2[:, lab] = 0.7 * w
    attn2[:, 0] = 0.3
    logits = np.zeros((n, L)) + shift * rng.standard_normal((n, 1))
    for i in range(n):
        for j in range(N):
            logits[i, context_labels[i, j]] += xi * w[i, j]

    class Batch:
        pass

    batch = Batch()
    batch.context_labels, batch.context_match = context_labels, match
    return attn1, attn2, logits, batch


@pytest.mark.parametrize(
    ("beta1", "alpha", "xi", "B"), [(0.3, 1.7, 2.5, 1), (-1.2, -0.4, 0.8, 1), (2.0, 3.0, -1.5, 2)]
)
def test_the_state_inverts_the_theory_forms(beta1, alpha, xi, B):
    st = nested_logit_state(*_hand_built(beta1, alpha, xi, B=B))
    assert st["beta1"] == pytest.approx(beta1, abs=1e-12)
    assert st["alpha"] == pytest.approx(alpha, abs=1e-12)
    assert st["xi"] == pytest.approx(xi, abs=1e-12)
    assert st["s"] == pytest.approx(1 / (1 + np.exp(-beta1)), abs=1e-15)


def test_a_label_bias_does_not_move_xi():
    """A context-free bias b_m on each label's logit (a random classifier has one) is not in the theory's
    form. The estimate subtracts each label's mean logit when absent; with 4000 sequences of N = 4 context
    labels out of L = 10 the measured error is 0.009 and the standard error 0.006; without the correction a
    bias of size 3 shifts each sequence's ξ by Σ_present b_j (≈ ±6) and the mean by ≈ 0.13 (s.e. 0.08)."""
    attn1, attn2, logits, batch = _hand_built(0.5, 1.0, 2.0, n=4000)
    bias = 3.0 * np.random.default_rng(1).standard_normal(logits.shape[1])
    st = nested_logit_state(attn1, attn2, logits + bias, batch)
    assert st["xi"] == pytest.approx(2.0, abs=0.03)
    assert st["xi_se"] < 0.01


def test_xi_is_the_bias_corrected_sum_written_out():
    """ξ on arbitrary logits, against the estimator written out with loops over sequences and labels:
    z_il = logit_il − mean of the sequence's absent logits; b_l = mean of z_il over the sequences where l is
    absent (0 if never); ξ = mean over sequences of Σ_present [(z_il − b_l) − mean_absent (z_ik − b_k)]. Five
    sequences of N = 4 labels out of L = 7, so some label is absent exactly once and one never is."""
    attn1, attn2, logits, batch = _hand_built(0.5, 1.0, 2.0, N=4, L=7, n=5, seed=0)
    logits = logits + np.random.default_rng(4).standard_normal(logits.shape)
    ctx = batch.context_labels
    absent = [sorted(set(range(7)) - set(c)) for c in ctx]
    times = np.bincount(np.concatenate(absent), minlength=7)
    assert 1 in times and 0 in times
    z = np.array([[logits[i, m] - np.mean(logits[i, absent[i]]) for m in range(7)] for i in range(5)])
    b = [np.mean([z[i, m] for i in range(5) if m in absent[i]]) if times[m] else 0.0 for m in range(7)]
    xi = [
        sum(z[i, m] - b[m] for m in set(ctx[i]))
        - np.mean([z[i, k] - b[k] for k in absent[i]]) * len(set(ctx[i]))
        for i in range(5)
    ]
    assert nested_logit_state(attn1, attn2, logits, batch)["xi"] == pytest.approx(np.mean(xi), abs=1e-12)


def test_the_state_needs_an_absent_label_and_a_non_matching_item():
    attn1, attn2, logits, batch = _hand_built(0.0, 1.0, 1.0, N=4, L=4)
    with pytest.raises(ValueError, match="absent"):
        nested_logit_state(attn1, attn2, logits, batch)
    attn1, attn2, logits, batch = _hand_built(0.0, 1.0, 1.0)
    batch.context_match = np.ones_like(batch.context_match)
    with pytest.raises(ValueError, match="matching"):
        nested_logit_state(attn1, attn2, logits, batch)
    # r = 0 or 1 (the label tokens' attention all off or all on the matching ones) or s = 0 has no
    # logit: refused by name, not −inf or +inf
    lab = np.arange(1, 8, 2)
    for keep, r in ((False, "0"), (True, "1")):
        attn1, attn2, logits, batch = _hand_built(0.0, 1.0, 1.0)
        attn2[:, lab] *= batch.context_match == keep
        with pytest.raises(ValueError, match=rf"0 < r < 1, .* got ILA1 0\.5, r {r},"):
            nested_logit_state(attn1, attn2, logits, batch)
    attn1, attn2, logits, batch = _hand_built(0.0, 1.0, 1.0)
    attn1[:, lab, lab - 1] = 0.0
    with pytest.raises(ValueError, match="got ILA1 0,"):
        nested_logit_state(attn1, attn2, logits, batch)


DATA = DataConfig(K=64, L=8, N=4, D=255, P=9, B=1, epsilon=0.0, p_C=0.0)


def test_the_minimal_model_state_is_its_parameters():
    """The minimal model's layer-1 weight is σ(β₁) exactly; its layer-2 logit on label token j is
    α s (x_q · x_j) + β₂, with x_q · x_j = |μ|² ≈ 1 ± 2/√D for the matching item and ≈ ±1/√D otherwise
    (D = 255, ε = 0): the measured α is within 15% of the set one."""
    model = MinimalInductionHead(DATA.P)
    params = model.init_params(DATA, np.random.default_rng(0), dtype=np.float64)
    params.update({"ih.beta1": np.float64(0.8), "ih.alpha": np.float64(2.5), "ih.beta2": np.float64(-0.4)})
    st = measured_state(model, params, DATA, n=2000)
    assert st["beta1"] == pytest.approx(0.8, abs=1e-12)
    assert st["alpha"] == pytest.approx(2.5, rel=0.15)


def test_a_network_near_zero_weights_reads_as_uniform_attention():
    """At init scale 1e-4 every attention row is uniform over its causal prefix: label token t = 2j + 1
    gives 1/(t + 1) to its item, so s is the mean of 1/2, 1/4, …, 1/(2N); the target splits its attention
    evenly over the label tokens (α = 0) and the logits are ≈ 0 (ξ ≈ 0)."""
    cfg = TrainConfig(init_scale=1e-4, dtype="float64")
    params = initial_params(network, DATA, cfg)
    st = measured_state(network, params, DATA, n=500)
    s = np.mean([1 / (2 * j + 2) for j in range(DATA.N)])
    assert st["beta1"] == pytest.approx(np.log(s / (1 - s)), abs=1e-4)
    assert abs(st["alpha"]) < 1e-4 and abs(st["xi"]) < 1e-3


def test_theory_times_take_the_measured_state():
    """From (β₁, α, ξ) = (−1, 0, 0) the flow starts with s = σ(−1) ≈ 0.27 instead of ½, so the α-gradient
    (∝ s) starts at about half its value from the origin: the transition comes later (measured 1.33× at
    N = 4, L = 8; 1.2× leaves room for the integrator and still fails on an unchanged time)."""
    data = replace(DATA, L=8)
    t0, _ = theory_times(data, 20, 0.0)
    t1, f1 = theory_times(data, 20, (-1.0, 0.0, 0.0))
    assert t1 > 1.2 * t0
    level = (1 / 4 + 1) / 2  # (B/N + 1)/2
    assert t1 == pytest.approx(integrate_nested_logits(4, 8, [-1.0, 0.0, 0.0], level=level).t_transition)
    assert t1 != pytest.approx(integrate_nested_logits(4, 8, [0.0, 0.0, -1.0], level=level).t_transition)
    ctx = theory_contexts(data, 20)
    assert f1 == pytest.approx(
        integrate_finite_nested_logits(ctx, [-1.0, 0.0, 0.0], level=level).t_transition
    )
    with pytest.raises(ValueError, match="init"):
        theory_times(data, 20, (1.0, 2.0))
