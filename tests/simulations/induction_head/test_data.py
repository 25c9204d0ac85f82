import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.induction_head import DataConfig, Task


@st.composite
def configs(draw):
    L = draw(st.sampled_from([4, 8]))
    K = L * draw(st.integers(1, 6))
    N = draw(st.sampled_from([2, 4, 6, 8]))
    B = draw(st.sampled_from([b for b in (1, 2, 3, 4) if N % b == 0 and b < N and N // b <= L]))
    return DataConfig(
        K=K,
        L=L,
        N=N,
        D=7,
        P=2 * N + 1 + draw(st.integers(0, 5)),
        B=B,
        epsilon=draw(st.floats(0, 2)),
        alpha=draw(st.floats(0, 2)),
        p_C=draw(st.sampled_from([0.0, 0.5])),
        bursty_sampling=draw(st.sampled_from(["zipf", "uniform"])),
    )


@settings(max_examples=30, deadline=None)
@given(configs(), st.integers(0, 2**31))
def test_bursty_structure(cfg, seed):
    b = Task(cfg).sample(np.random.default_rng(seed), 64, "bursty")
    for ctx, lab, match in zip(b.context_labels, b.labels, b.context_match, strict=True):
        vals, counts = np.unique(ctx, return_counts=True)
        assert len(vals) == cfg.N // cfg.B and np.all(counts == cfg.B)  # N/B distinct labels, B each
        assert lab in vals and match.sum() == cfg.B  # the target's class is in context B times


@settings(max_examples=30, deadline=None)
@given(configs(), st.integers(0, 2**31))
def test_tokens_labels_and_swaps(cfg, seed):
    task = Task(cfg)
    rng = np.random.default_rng(seed)
    b = task.sample(rng, 32, "train")
    pos = b.tokens[:, :, : cfg.P]
    assert np.all(pos.sum(axis=2) == 1)
    idx = pos.argmax(axis=2)
    assert np.all(np.diff(idx, axis=1) == 1)  # relative positions fixed, offset random
    trained = b.target_class >= 0
    assert np.all(b.labels[trained] == b.target_class[trained] % cfg.L)
    np.testing.assert_allclose(
        b.tokens[:, 1::2][:, : cfg.N, cfg.P :], task.label_vectors[b.context_labels], rtol=1e-6
    )
    b2 = task.sample(rng, 32, "ic2")
    assert np.all(b2.labels == (b2.target_class + 1) % cfg.L)
    for ctx, lab in zip(b2.context_labels, b2.labels, strict=True):
        assert lab in ctx


def test_item_norms_and_noise():
    """x = (μ + εη)/√(1+ε²), η ~ N(0, I/D): E[‖x‖² | class c] = (‖μ_c‖² + ε²)/(1 + ε²) (target items)."""
    for eps in (0.0, 0.5, 3.2):
        cfg = DataConfig(K=64, L=8, N=4, D=63, P=9, B=2, epsilon=eps)
        task = Task(cfg)
        b = task.sample(np.random.default_rng(0), 20000, "iw", dtype=np.float64)
        x = b.tokens[:, -1, cfg.P :]
        want = (np.sum(task.means[b.target_class] ** 2, axis=1) + eps**2) / (1 + eps**2)
        # the η part of ‖x‖² has variance ≤ 4ε²/D + 2ε⁴/D per item over (1+ε²)²: mean s.e. < 0.002
        assert np.mean(np.sum(x**2, axis=1) - want) == pytest.approx(0.0, abs=0.01)
    assert np.mean(np.sum(task.means**2, axis=1)) == pytest.approx(1.0, abs=4 * np.sqrt(2 / 63 / 64))


def test_zipf_frequencies():
    """IW targets follow P(k) ∝ k^{-α}: each of the 8 most frequent classes within 5 s.e."""
    cfg = DataConfig(K=64, L=8, N=4, D=7, P=9, B=2, alpha=1.0)
    task = Task(cfg)
    b = task.sample(np.random.default_rng(1), 40000, "iw")
    freq = np.bincount(b.target_class, minlength=cfg.K) / 40000
    p = task.class_probs
    se = np.sqrt(p * (1 - p) / 40000)
    assert np.all(np.abs(freq[:8] - p[:8]) < 5 * se[:8])


def test_iw_target_rarely_in_context_and_ic_uses_novel_classes():
    cfg = DataConfig(K=512, L=32, N=8)
    task = Task(cfg)
    iw = task.sample(np.random.default_rng(2), 4000, "iw")
    assert iw.context_match.any(axis=1).mean() < 0.03  # ≈ 1 − (1 − 1/512)^8 ≈ 0.016
    ic = task.sample(np.random.default_rng(3), 100, "ic")
    assert np.all(ic.target_class == -1)
    assert not np.any((ic.tokens[:, 0, cfg.P :][:, None, :] == task.means[None]).all(axis=2))


def test_batch_is_a_function_of_seed():
    task = Task(DataConfig(K=64, L=8, N=4, D=7, P=9))
    a = task.sample(np.random.default_rng(5), 8)
    b = task.sample(np.random.default_rng(5), 8)
    np.testing.assert_array_equal(a.tokens, b.tokens)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"B": 3}, "'B' must divide N"),
        ({"L": 1024}, "'L' must be <= K"),
        ({"K": 500}, "'K' must be divisible by L"),
        ({"epsilon": -0.1}, "'epsilon' must be >= 0"),
        ({"P": 10}, "'P' must be >= 2N \\+ 1"),
        ({"B": 8}, "'B' must be < N"),
        ({"p_B": 1.5}, "'p_B' must lie in"),
        ({"B": 0, "p_C": 0.5}, "'p_C' must be 0 when B = 0"),
    ],
)
def test_invalid_configs_name_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        DataConfig(**kw)


def test_distinct_label_sampler_is_exact_sequential_sampling():
    """P(c1 = i, c2 = j) = p_i p_j / (1 − Σ_{label(k) = label(i)} p_k) for label(j) ≠ label(i); 5 s.e."""
    cfg = DataConfig(K=8, L=4, N=4, D=7, P=9, B=2, alpha=1.0)
    task = Task(cfg)
    n = 200_000
    ch = task._bursty_classes(np.random.default_rng(7), n, task.class_probs)
    p, lab = task.class_probs, task.class_label
    exact = np.zeros((8, 8))
    for i in range(8):
        rest = 1 - p[lab == lab[i]].sum()
        for j in range(8):
            if lab[j] != lab[i]:
                exact[i, j] = p[i] * p[j] / rest
    freq = np.zeros((8, 8))
    np.add.at(freq, (ch[:, 0], ch[:, 1]), 1 / n)
    se = np.sqrt(exact * (1 - exact) / n) + 1e-12
    assert np.all(np.abs(freq - exact) <= 5 * se)
