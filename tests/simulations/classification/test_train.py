import numpy as np
import pytest

from simulations.classification import DataConfig
from simulations.classification.train import TrainConfig, sgd_update, train

SMALL = DataConfig(K=32, L=8, N=4, D=11, P=12, B=2, p_C=0.5)


def test_resume_from_checkpoint_is_exact(tmp_path):
    ck = tmp_path / "ck.npz"
    kw = dict(batch=8, eval_every=5, eval_size=20, checkpoint_every=10, dtype="float64")
    train(SMALL, TrainConfig(steps=10, **kw), checkpoint=ck)  # "interrupted" after 10 steps
    resumed, h_res, _ = train(SMALL, TrainConfig(steps=25, **kw), checkpoint=ck)
    straight, h_str, _ = train(SMALL, TrainConfig(steps=25, **kw))
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k])
    np.testing.assert_array_equal(h_res["step"], h_str["step"])
    np.testing.assert_allclose(h_res["acc_ic"], h_str["acc_ic"])


def test_divergence_stops_with_a_message():
    with pytest.raises(FloatingPointError, match="diverged at step"):
        with np.errstate(all="ignore"):
            train(SMALL, TrainConfig(steps=50, batch=8, lr=1e6, eval_every=100, eval_size=20))


def test_history_has_every_measure():
    _, h, maps = train(SMALL, TrainConfig(steps=6, batch=8, eval_every=3, eval_size=20))
    assert list(h["step"]) == [0, 3, 6]
    assert maps["attn1"].shape == (3, 9, 9) and maps["attn2"].shape == (3, 8, 9)
    assert maps["context_match"].shape == (8, 4)
    assert np.all((h["acc_ic"] >= 0) & (h["acc_ic"] <= 1))


def test_experiment_checkpoints_resume_under_the_same_config_only(tmp_path):
    from simulations.classification.experiments import CurvesConfig, _checkpoint
    a = CurvesConfig(checkpoint_dir=str(tmp_path))
    b = CurvesConfig(checkpoint_dir=str(tmp_path), lr=0.02)
    assert _checkpoint(a, "x") == _checkpoint(CurvesConfig(checkpoint_dir=str(tmp_path), checkpoint_every=7), "x")
    assert _checkpoint(a, "x") != _checkpoint(b, "x")
    assert _checkpoint(CurvesConfig(), "x") is None


def test_stop_at_ic_ends_at_the_first_evaluation_reaching_it():
    kw = dict(steps=30, batch=8, eval_every=5, eval_size=100)
    _, h_full, _ = train(SMALL, TrainConfig(**kw))
    level = float(h_full["acc_ic"].max())  # > 0: at least chance among 8 labels on 100 sequences
    first = int(np.nonzero(h_full["acc_ic"] >= level)[0][0])
    _, h, _ = train(SMALL, TrainConfig(**kw, stop_at_ic=level))
    assert list(h["step"]) == list(h_full["step"][:first + 1])
    np.testing.assert_array_equal(h["acc_ic"], h_full["acc_ic"][:first + 1])


def test_b0_training_is_evaluated_on_bursty_ic_sequences():
    import dataclasses
    _, h, maps = train(dataclasses.replace(SMALL, B=0, p_C=0.0), TrainConfig(steps=4, batch=8, eval_every=2, eval_size=40))
    assert np.all(np.isfinite(h["acc_ic"])) and np.all(np.isfinite(h["acc_ic2"]))
    assert maps["context_match"].sum(axis=1).tolist() == [1] * 8  # B = 1 test contexts: the target once


def test_sgd_update_is_decoupled_weight_decay_in_the_parameters_dtype():
    p = {"w": np.array([1.0, -2.0], np.float32)}
    sgd_update(p, {"w": np.array([0.5, -0.5], np.float32)}, lr=0.1, weight_decay=0.01)
    assert p["w"].dtype == np.float32
    np.testing.assert_allclose(p["w"], [0.99 * 1.0 - 0.05, 0.99 * -2.0 + 0.05], rtol=1e-6)  # float32 rounding
