import numpy as np
import pytest

from simulations.induction_head import DataConfig, Task
from simulations.induction_head.minimal import MinimalInductionHead
from simulations.induction_head.training import TrainConfig, train
from tests.gradcheck import central_differences

SMALL = DataConfig(K=32, L=8, N=4, D=11, P=12, B=1, p_C=0.5)


@pytest.mark.parametrize("cfg", [SMALL, DataConfig(K=32, L=8, N=4, D=4, P=9, B=1, p_C=0.5)])
def test_gradients_match_central_differences(cfg):
    """Every gradient against central differences (float64), with the content width D above and below the
    T = 2N + 1 tokens (N must come from the token axis, not the content axis)."""
    m = MinimalInductionHead(cfg.P)
    batch = Task(cfg).sample(np.random.default_rng(0), 6, dtype=np.float64)
    params = m.init_params(cfg, np.random.default_rng(1), dtype=np.float64)
    params.update({"ih.beta1": np.array(0.3), "ih.alpha": np.array(1.2), "ih.beta2": np.array(-0.4)})
    _, grads = m.loss_and_grads(params, batch.tokens, batch.labels)
    num = central_differences(lambda p: m.loss_and_grads(p, batch.tokens, batch.labels)[0], params)
    for name in params:
        assert np.linalg.norm(num[name] - grads[name]) <= 1e-6 * max(np.linalg.norm(num[name]), 1e-3), name


def test_an_ideal_induction_head_copies_the_matching_label():
    """Large β₁, α: the target's attention goes to the label after its matching item."""
    m = MinimalInductionHead(SMALL.P)
    batch = Task(SMALL).sample(np.random.default_rng(2), 50, "ic", dtype=np.float64)
    params = m.init_params(SMALL, np.random.default_rng(3), dtype=np.float64)
    params.update({"ih.beta1": np.array(10.0), "ih.alpha": np.array(60.0), "ih.beta2": np.array(0.0)})
    _, a1, a2 = m.forward(params, batch.tokens)
    lab = np.arange(1, 8, 2)
    on_match = (a2[:, lab] * batch.context_match).sum(axis=1)
    assert np.median(on_match) > 0.9
    assert np.allclose(a1[:, 1, 0], 1 / (1 + np.exp(-10.0)))


def test_trains_with_the_shared_trainer():
    res = train(SMALL, TrainConfig(steps=200, batch=32, eval_every=50, eval_size=200, lr=0.05), "minimal")
    params, h = res.params, res.history
    assert set(params) >= {"ih.beta1", "ih.alpha", "ih.beta2"}
    # mean training loss over steps 0-49 against 150-199: it fell by 0.08-0.16 over seeds 0-3; the mean of
    # 50 batches has s.e. ≈ 0.01, so a drop of 0.03 is a real decrease, not noise
    assert h["loss"][-1] < h["loss"][1] - 0.03


def test_layer_one_map_mixes_every_label_token_with_its_item():
    """N = 4 (T = 9), β₁ = 0.7, s = σ(β₁) written out: label rows t = 1, 3, 5, 7 put 1 − s on themselves and
    s on the item t − 1; item rows and the target's row attend to themselves. Exact up to rounding."""
    m = MinimalInductionHead(SMALL.P)
    params = m.init_params(SMALL, np.random.default_rng(4), dtype=np.float64)
    params["ih.beta1"] = np.array(0.7)
    batch = Task(SMALL).sample(np.random.default_rng(5), 3, "ic", dtype=np.float64)
    _, a1, _ = m.forward(params, batch.tokens)
    s = 1 / (1 + np.exp(-0.7))
    want = np.eye(9)
    for t in (1, 3, 5, 7):
        want[t, t], want[t, t - 1] = 1 - s, s
    assert a1.shape == (3, 9, 9)
    np.testing.assert_allclose(a1, np.broadcast_to(want, (3, 9, 9)), rtol=1e-12, atol=1e-15)
