import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.induction_head import DataConfig, Task
from simulations.seeding import standard_normal


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
        ({"P": 16}, "'P' must be >= 2N \\+ 1 = 17"),
        ({"B": 8}, "'B' must be < N"),
        ({"p_B": 1.5}, "'p_B' must lie in"),
        ({"B": 0, "p_C": 0.5}, "'p_C' must be 0 when B = 0"),
    ],
)
def test_invalid_configs_name_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        DataConfig(**kw)


def test_the_smallest_valid_label_count_and_burstiness():
    """L = 2 labels is valid (L = 1 is not); with N = 1 the one context item may be bursty, B = N = 1, but
    for N = 2, B = N is refused (a bursty context needs two distinct labels then)."""
    assert DataConfig(K=4, L=2, N=2, D=3, P=5, B=1).L == 2
    with pytest.raises(ValueError, match="'L' must be >= 2"):
        DataConfig(K=4, L=1, N=2, D=3, P=5, B=1)
    assert DataConfig(K=4, L=2, N=1, D=3, P=3, B=1).B == 1
    with pytest.raises(ValueError, match=r"'B' must be < N \(= 2\)"):
        DataConfig(K=4, L=2, N=2, D=3, P=5, B=2)


def test_positions_may_fill_the_code_exactly():
    """P = 2N + 1 is valid: only offset 0 fits, so token t of every sequence is one-hot at t."""
    cfg = DataConfig(K=16, L=4, N=2, D=3, P=5, B=1)
    tokens = Task(cfg).sample(np.random.default_rng(0), 50).tokens
    np.testing.assert_array_equal(tokens[:, :, : cfg.P], np.broadcast_to(np.eye(5), (50, 5, 5)))


def test_iw_classes_follow_the_zipf_law_written_out():
    """IW targets are iid with P(k) = k^(−α) / Σ_j j^(−α), k = 1..K, written out here (not the Task's own
    class_probs). n = 40000 draws; every class within 5 binomial standard errors (64 classes: a false
    failure has probability < 64 × 6e-7)."""
    alpha, K, n = 1.3, 64, 40000
    cfg = DataConfig(K=K, L=8, N=4, D=7, P=9, B=2, alpha=alpha)
    b = Task(cfg).sample(np.random.default_rng(31), n, "iw")
    k = np.arange(1, K + 1)
    p = k**-alpha / np.sum(k**-alpha)
    freq = np.bincount(b.target_class, minlength=K) / n
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n))


@pytest.mark.parametrize("sampling", ["zipf", "uniform"])
def test_bursty_targets_follow_the_class_law_without_label_repeats(sampling):
    """K = 8, L = 4, N/B = 2 classes per context: with "zipf" the first class is drawn from P(k) ∝ k^(−α)
    and the second from P restricted to the other labels, so P(k in context) = p_k + Σ_{i: ℓ(i) ≠ ℓ(k)}
    p_i p_k / (1 − Σ_{j: ℓ(j) = ℓ(i)} p_j); the target is either class with probability ½. With "uniform"
    the same holds for p = 1/K. n = 40000, 5 binomial standard errors per class."""
    cfg = DataConfig(K=8, L=4, N=4, D=7, P=9, B=2, alpha=1.5, bursty_sampling=sampling)
    n = 40000
    b = Task(cfg).sample(np.random.default_rng(32), n, "bursty")
    k = np.arange(1, 9)
    p = k**-1.5 / np.sum(k**-1.5) if sampling == "zipf" else np.full(8, 1 / 8)
    lab = np.arange(8) % 4
    inside = np.array(
        [
            p[c] + sum(p[i] * p[c] / (1 - p[lab == lab[i]].sum()) for i in range(8) if lab[i] != lab[c])
            for c in range(8)
        ]
    )
    want = inside / 2
    freq = np.bincount(b.target_class, minlength=8) / n
    assert np.all(np.abs(freq - want) <= 5 * np.sqrt(want * (1 - want) / n))


def test_fractions_of_bursty_and_novel_training_sequences():
    """p_B = 0.7, p_C = 0.3: a fraction p_B of training sequences is bursty (N/B labels, B copies each, the
    target's class B times, at the positions of its label), a fraction p_C of those uses novel classes
    (target_class −1), and the rest are iid sequences of trained classes. With K = 512 an iid context has
    this bursty pattern with probability < 1e-4, so the pattern identifies bursty sequences. n = 20000;
    every fraction within 5 binomial standard errors (s.e. ≈ 0.003–0.004)."""
    cfg = DataConfig(K=512, L=32, N=8, D=7, P=17, B=2, p_B=0.7, p_C=0.3)
    n = 20000
    b = Task(cfg).sample(np.random.default_rng(33), n, "train")
    counts = np.array([np.unique(c, return_counts=True)[1] for c in b.context_labels], dtype=object)
    pattern = np.array([len(c) == 4 and np.all(c == 2) for c in counts])
    bursty = pattern & (b.context_match.sum(axis=1) == 2)
    novel = b.target_class == -1
    assert np.all(bursty[novel])  # novel sequences are bursty ones
    f_b, f_c = bursty.mean(), novel[bursty].mean()
    assert abs(f_b - 0.7) <= 5 * np.sqrt(0.7 * 0.3 / n)
    assert abs(f_c - 0.3) <= 5 * np.sqrt(0.3 * 0.7 / bursty.sum())
    assert abs(novel.mean() - 0.21) <= 5 * np.sqrt(0.21 * 0.79 / n)
    # in every bursty sequence (novel or not) the matching items are the ones carrying the target's label
    np.testing.assert_array_equal(
        b.context_match[bursty], b.context_labels[bursty] == b.labels[bursty][:, None]
    )
    assert np.all(b.target_class[~novel] >= 0)


def test_position_offsets_are_uniform_over_every_start_that_fits():
    """P = T + 3: the block of T positions starts at 0, 1, 2 or 3, each with probability ¼ (n = 8000, 5
    binomial standard errors ≈ 0.024); without random_offset it starts at 0."""
    cfg = DataConfig(K=16, L=4, N=2, D=7, P=8, B=1)
    n = 8000
    start = Task(cfg).sample(np.random.default_rng(34), n, "train").tokens[:, 0, : cfg.P].argmax(axis=1)
    freq = np.bincount(start, minlength=cfg.P) / n
    assert np.all(np.abs(freq[:4] - 0.25) <= 5 * np.sqrt(0.25 * 0.75 / n)) and np.all(freq[4:] == 0)
    fixed = DataConfig(K=16, L=4, N=2, D=7, P=8, B=1, random_offset=False)
    assert np.all(Task(fixed).sample(np.random.default_rng(35), 50).tokens[:, 0, 0] == 1)


@pytest.mark.parametrize("field", ["p_B", "p_C"])
@pytest.mark.parametrize("value", [-0.01, 1.01])
def test_mixture_fractions_outside_the_unit_interval_are_rejected(field, value):
    with pytest.raises(ValueError, match=f"'{field}' must lie in \\[0, 1\\]"):
        DataConfig(**{field: value})
    assert getattr(DataConfig(**{field: 0.0}), field) == 0.0  # the end points are fractions
    assert getattr(DataConfig(**{field: 1.0}), field) == 1.0


def test_with_one_copy_per_class_a_bursty_context_still_holds_the_target_once():
    """B = 1 is bursty too: with p_B = 1 every training sequence draws N distinct classes, the target among
    them, so the target's class is in the context exactly once (an iid context from 512 Zipf classes would
    usually miss it)."""
    cfg = DataConfig(K=512, L=32, N=8, D=7, P=17, B=1, p_B=1.0, p_C=0.0)
    batch = Task(cfg).sample(np.random.default_rng(5), 300)
    assert batch.context_match.sum(axis=1).tolist() == [1] * 300


@pytest.mark.parametrize("kind", ["train", "ic", "iw"])
def test_context_match_is_equality_of_the_items_without_noise(kind):
    """ε = 0: every item token is its class mean, so "context item i has the target's class" is token
    equality (novel classes included: p_C = 0.5 in training, all of them in "ic")."""
    cfg = DataConfig(K=16, L=4, N=4, D=5, P=9, B=2, epsilon=0.0, p_B=0.7, p_C=0.5)
    b = Task(cfg).sample(np.random.default_rng(8), 400, kind)
    items = b.tokens[:, 0 : 2 * cfg.N : 2, cfg.P :]
    target = b.tokens[:, 2 * cfg.N, cfg.P :]
    np.testing.assert_array_equal(b.context_match, (items == target[:, None, :]).all(axis=2))
    assert b.context_match.any() and not b.context_match.all()


@pytest.mark.parametrize(
    "K, L, N, B, classes",
    [(8, 4, 4, 2, None), (12, 4, 3, 1, None), (12, 4, 3, 1, "common"), (12, 4, 3, 1, "rare")],
)
def test_distinct_label_sampler_is_exact_sequential_sampling(K, L, N, B, classes):
    """Zipf α = 1, two or three classes a label, N/B = 2 or 3 picks, optionally restricted to a subset
    (zero probabilities inside labels): the first two picks follow P(c1 = i, c2 = j) = p_i p_j /
    (1 − Σ_{ℓ(k) = ℓ(i)} p_k) for ℓ(j) ≠ ℓ(i), with p ∝ k^(−1) on the subset written out here (the first
    quarter of the ranks, or the second half); 5 s.e. per cell, n = 200,000. No class outside the subset
    is ever drawn, also after the same Task drew from the full law (its tables are cached per subset)."""
    task = Task(DataConfig(K=K, L=L, N=N, D=5, P=2 * N + 1, B=B, alpha=1.0))
    k = np.arange(1, K + 1)
    keep = {None: k > 0, "common": k <= K // 4, "rare": k > K // 2}[classes]
    p = np.where(keep, 1.0 / k, 0.0)
    p /= p.sum()
    lab = np.arange(K) % L
    n = 200_000
    task._bursty_classes(np.random.default_rng(0), 10, None)  # the full law's tables, cached first
    ch = task._bursty_classes(np.random.default_rng(11), n, classes)
    assert keep[ch].all()
    exact = np.zeros((K, K))
    for i in range(K):
        rest = 1 - p[lab == lab[i]].sum()
        for j in range(K):
            if lab[j] != lab[i]:
                exact[i, j] = p[i] * p[j] / rest
    freq = np.zeros((K, K))
    np.add.at(freq, (ch[:, 0], ch[:, 1]), 1 / n)
    se = np.sqrt(exact * (1 - exact) / n) + 1e-12
    assert np.all(np.abs(freq - exact) <= 5 * se)


def test_a_subset_with_too_few_labels_for_a_bursty_context_is_refused():
    """K = L = 8: the "common" quarter is classes 1–2, two labels, but N/B = 4 distinct labels are needed."""
    task = Task(DataConfig(K=8, L=8, N=4, D=5, P=9, B=1, alpha=1.0))
    with pytest.raises(ValueError, match=r"classes: only 2 labels .* N/B = 4"):
        task.sample(np.random.default_rng(0), 10, "ic2", classes="common")


def test_batches_that_differ_only_in_epsilon_share_classes_labels_and_positions():
    """The within-class noise is a batch's last draw, so ε = 0 and ε = 0.5 from the same generator state
    give the same labels, classes, matches, positions and label tokens; the items differ by the noise
    only, (μ + εη)/√(1 + ε²) with η/√D the generator's next float32 normals (replayed here; their law is
    tested in tests/simulations/test_seeding.py), and the ε = 0 items
    are the class means themselves (float32 tolerances)."""
    a_cfg = DataConfig(K=16, L=4, N=4, D=5, P=12, B=2, epsilon=0.0, p_C=0.5)
    b_cfg = DataConfig(K=16, L=4, N=4, D=5, P=12, B=2, epsilon=0.5, p_C=0.5)
    rng = np.random.default_rng(5)
    a = Task(a_cfg).sample(rng, 300)
    eta = standard_normal(rng, (300, 5, 5), np.float32)  # ε = 0 drew no noise: the draws ε = 0.5 used
    b = Task(b_cfg).sample(np.random.default_rng(5), 300)
    want = (a.tokens[:, 0::2, a_cfg.P :] + 0.5 * eta / np.sqrt(5)) / np.sqrt(1.25)
    np.testing.assert_allclose(b.tokens[:, 0::2, b_cfg.P :], want, rtol=1e-5, atol=1e-6)  # float32
    for field in ("labels", "target_class", "context_labels", "context_match"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    P = a_cfg.P
    np.testing.assert_array_equal(a.tokens[:, :, :P], b.tokens[:, :, :P])  # positions
    np.testing.assert_array_equal(a.tokens[:, 1::2, P:], b.tokens[:, 1::2, P:])  # label tokens
    known = a.target_class >= 0
    means = Task(a_cfg).means
    np.testing.assert_allclose(a.tokens[known, -1, P:], means[a.target_class[known]], rtol=1e-6)
    assert not np.allclose(a.tokens[:, 0::2, P:], b.tokens[:, 0::2, P:])
