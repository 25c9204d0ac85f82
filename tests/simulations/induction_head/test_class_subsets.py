"""Class subsets for coexistence (docs/induction_head.md §4): common = ranks 1..K/4, rare = ranks K/2+1..K."""

import numpy as np
import pytest

from simulations.induction_head import DataConfig, Task, TrainConfig, train


def test_subsets_draw_only_their_classes_with_the_zipf_law_renormalised():
    cfg = DataConfig(K=64, L=8, N=4, D=7, P=9, B=2, alpha=1.0)
    task = Task(cfg)
    n = 40_000
    for subset, ranks in (("common", np.arange(16)), ("rare", np.arange(32, 64))):
        b = task.sample(np.random.default_rng(1), n, "iw", classes=subset)
        assert set(np.unique(b.target_class)) <= set(ranks)
        zipf = (ranks + 1.0) ** -1.0  # P(k) ∝ k^-α written out, α = 1, renormalised on the subset
        want = zipf / zipf.sum()
        freq = np.bincount(b.target_class, minlength=64)[ranks] / n
        se = np.sqrt(want * (1 - want) / n)
        assert np.all(np.abs(freq - want) < 5 * se)
    ic2 = task.sample(np.random.default_rng(2), 500, "ic2", classes="rare")
    assert ic2.target_class.min() >= 32 and np.all(ic2.labels == (ic2.target_class + 1) % 8)
    with pytest.raises(ValueError, match="classes must be"):
        task.sample(np.random.default_rng(0), 4, "iw", classes="middle")


def test_split_accuracies_are_evaluated_only_under_a_zipf_law():
    kw = dict(steps=4, batch=8, eval_every=2, eval_size=40)
    zipf = train(DataConfig(K=64, L=8, N=4, D=7, P=9, B=2, alpha=1.0), TrainConfig(**kw)).history
    flat = train(DataConfig(K=64, L=8, N=4, D=7, P=9, B=2), TrainConfig(**kw)).history
    for k in ("acc_iw_common", "acc_iw_rare", "acc_ic2_common", "acc_ic2_rare"):
        assert np.all((zipf[k] >= 0) & (zipf[k] <= 1)) and np.all(np.isnan(flat[k]))
