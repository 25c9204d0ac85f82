import dataclasses

import numpy as np
import pytest

from simulations.induction_head import DataConfig, ResumedWarning, TrainConfig, sgd_update, train

SMALL = DataConfig(K=32, L=8, N=4, D=11, P=12, B=2, p_C=0.5)


def test_resume_from_checkpoint_is_exact_and_announced(tmp_path):
    ck = tmp_path / "ck.npz"
    kw = dict(batch=8, eval_every=5, eval_size=20, checkpoint_every=10, dtype="float64")
    first = train(SMALL, TrainConfig(steps=10, **kw), checkpoint=ck)  # "interrupted" after 10 steps
    assert first.resumed_at is None
    with pytest.warns(ResumedWarning, match="at step 10"):
        resumed = train(SMALL, TrainConfig(steps=25, **kw), checkpoint=ck)
    straight = train(SMALL, TrainConfig(steps=25, **kw))
    assert resumed.resumed_at == 10
    for k in straight.params:
        np.testing.assert_array_equal(resumed.params[k], straight.params[k])
    np.testing.assert_array_equal(resumed.history["step"], straight.history["step"])
    np.testing.assert_allclose(resumed.history["acc_ic"], straight.history["acc_ic"])


def test_a_checkpoint_of_another_config_is_refused(tmp_path):
    ck = tmp_path / "ck.npz"
    kw = dict(steps=10, batch=8, eval_every=5, eval_size=20, checkpoint_every=10)
    train(SMALL, TrainConfig(**kw), checkpoint=ck)
    with pytest.raises(ValueError, match="written by another config"):
        train(SMALL, TrainConfig(**{**kw, "lr": 0.02, "steps": 20}), checkpoint=ck)
    with pytest.raises(ValueError, match="written by another config"):
        train(dataclasses.replace(SMALL, epsilon=0.2), TrainConfig(**{**kw, "steps": 20}), checkpoint=ck)
    with pytest.raises(ValueError, match="written by another config"):
        train(SMALL, TrainConfig(**{**kw, "steps": 20}), "minimal", checkpoint=ck)


def test_divergence_stops_with_a_message():
    with pytest.raises(FloatingPointError, match="diverged at step"):
        with np.errstate(all="ignore"):
            train(SMALL, TrainConfig(steps=50, batch=8, lr=1e6, eval_every=100, eval_size=20))


def test_history_has_every_measure():
    res = train(SMALL, TrainConfig(steps=6, batch=8, eval_every=3, eval_size=20))
    h, maps = res.history, res.maps
    assert list(h["step"]) == [0, 3, 6]
    assert maps["attn1"].shape == (3, 9, 9) and maps["attn2"].shape == (3, 8, 9)
    assert maps["context_match"].shape == (8, 4)
    assert np.all((h["acc_ic"] >= 0) & (h["acc_ic"] <= 1))


def test_stop_at_ic_ends_at_the_first_evaluation_reaching_it():
    kw = dict(steps=30, batch=8, eval_every=5, eval_size=100)
    h_full = train(SMALL, TrainConfig(**kw)).history
    level = float(h_full["acc_ic"].max())  # > 0: at least chance among 8 labels on 100 sequences
    first = int(np.nonzero(h_full["acc_ic"] >= level)[0][0])
    h = train(SMALL, TrainConfig(**kw, stop_at_ic=level)).history
    assert list(h["step"]) == list(h_full["step"][: first + 1])
    np.testing.assert_array_equal(h["acc_ic"], h_full["acc_ic"][: first + 1])


def test_b0_training_is_evaluated_on_bursty_ic_sequences():
    res = train(
        dataclasses.replace(SMALL, B=0, p_C=0.0), TrainConfig(steps=4, batch=8, eval_every=2, eval_size=40)
    )
    assert np.all(np.isfinite(res.history["acc_ic"])) and np.all(np.isfinite(res.history["acc_ic2"]))
    assert res.maps["context_match"].sum(axis=1).tolist() == [1] * 8  # B = 1 test contexts: the target once


def test_sgd_update_is_decoupled_weight_decay_in_the_parameters_dtype():
    p = {"w": np.array([1.0, -2.0], np.float32)}
    sgd_update(p, {"w": np.array([0.5, -0.5], np.float32)}, lr=0.1, weight_decay=0.01)
    assert p["w"].dtype == np.float32
    np.testing.assert_allclose(p["w"], [0.99 * 1.0 - 0.05, 0.99 * -2.0 + 0.05], rtol=1e-6)  # float32 rounding


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"steps": 0}, "'steps' must be >= 1"),
        ({"lr": float("nan")}, "'lr' must be a finite number"),
        ({"batch": True}, "'batch' must be an integer"),
        ({"dtype": "float16"}, "'dtype' must be"),
    ],
)
def test_bad_training_configs_are_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)
