"""Batched training of R LSA networks against R single runs.

Tolerance: parameters, Polyak averages, u·U records and evaluation losses within 1e-12 relative to
their largest entry. The stacked step may sum its einsums and stacked products in another order than the
single one (float64 rounding, 1e-16 per operation), and 60 SGD steps of a contracting flow barely amplify
it; measured: 0 (an earlier einsum form of the stacked product gave 3e-16). Another run's seed moves the
weights by 0.7 relative, which the test shows too, so the comparison can fail.
"""

import dataclasses
import warnings

import numpy as np
import pytest

from simulations.linear_attention import (
    AveragingWindowWarning,
    PromptDistribution,
    TrainConfig,
    loss_and_grads,
    paper_init,
    random_init,
    train,
)
from simulations.linear_attention.batched import train_batched
from simulations.linear_attention.network import embed

TOL = 1e-12
D = 3
DISTS = [
    PromptDistribution(D),
    PromptDistribution(D, noise_var=0.2, target_noise=True),
    PromptDistribution(D, random_cov="exponential"),
]
CONFIGS = [
    TrainConfig(N=10, lr=0.02, steps=60, batch=32, seed=0, record_every=5),
    TrainConfig(N=10, lr=0.05, steps=45, batch=32, seed=1, record_every=3, average_last=0.5, eval_size=100),
    TrainConfig(N=10, lr=0.01, steps=60, batch=32, seed=2, record_every=7),
]
INITS = [None, random_init(D, 0.5, np.random.default_rng(0)), paper_init(D, 0.3)]


def rel(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - b)) / max(float(np.max(np.abs(b))), 1e-300))


def max_difference(batched, single) -> float:
    parts = [rel(batched.params[k], single.params[k]) for k in single.params]
    parts += [rel(batched.params_avg[k], single.params_avg[k]) for k in single.params_avg]
    parts += [rel(batched.V, single.V), rel(batched.V_avg, single.V_avg)]
    parts += [rel(batched.history["eval_loss"], single.history["eval_loss"])]
    return max(parts)


def test_three_runs_equal_their_single_runs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AveragingWindowWarning)
        results = train_batched(DISTS, CONFIGS, INITS)
        singles = [train(*args) for args in zip(DISTS, CONFIGS, INITS, strict=True)]
    for res, single in zip(results, singles, strict=True):
        assert set(res.history) == set(single.history)
        np.testing.assert_array_equal(res.history["step"], single.history["step"])
        np.testing.assert_array_equal(res.history["time"], single.history["time"])
        assert res.average_start == single.average_start
        assert res.window_settled == single.window_settled
        assert res.window_drift == pytest.approx(single.window_drift, rel=1e-9, abs=1e-12)
        assert max_difference(res, single) <= TOL
    assert list(results[1].history["step"]) == list(range(0, 45, 3)) + [45]  # its shorter run ended
    # the comparison can fail: the seed-0 single run is far from the batched seed-1 run's weights
    other = train(DISTS[1], dataclasses.replace(CONFIGS[1], seed=0), INITS[1])
    assert max_difference(results[1], other) > 1e-4


def test_chunks_of_the_stack_give_the_same_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AveragingWindowWarning)
        whole = train_batched(DISTS, CONFIGS, INITS, chunk=3)
        for chunk in (1, 2):
            for a, b in zip(train_batched(DISTS, CONFIGS, INITS, chunk=chunk), whole, strict=True):
                assert max_difference(a, b) <= TOL


def test_stacked_loss_and_grads_are_each_runs_own():
    """One stacked call equals R single calls (1e-13 relative: rounding of the stacked einsums)."""
    rng = np.random.default_rng(1)
    prompts = [dist.sample(rng, 16, 10) for dist in DISTS]
    Es = [embed(p.X, p.y, p.x_query) for p in prompts]
    params = [random_init(D, 1.0, rng) for _ in DISTS]
    stacked = {k: np.stack([p[k] for p in params]) for k in ("W_PV", "W_KQ")}
    losses, grads = loss_and_grads(stacked, np.stack(Es), np.stack([p.y_query for p in prompts]))
    assert losses.shape == (3,)
    for j in range(3):
        loss, g = loss_and_grads(params[j], Es[j], prompts[j].y_query)
        assert losses[j] == pytest.approx(loss, rel=1e-13)
        for k in g:
            np.testing.assert_allclose(grads[k][j], g[k], rtol=1e-13, atol=1e-15 * np.abs(g[k]).max())


def test_a_drifting_window_warns_naming_the_run():
    drifting = TrainConfig(N=10, lr=0.01, steps=400, batch=64, average_last=1.0, record_every=5)
    settled = dataclasses.replace(drifting, steps=40, average_last=0.25)
    with pytest.warns(AveragingWindowWarning, match="^run 1: u·U drifted"):
        res = train_batched([PromptDistribution(3)] * 2, [settled, drifting])
    assert not res[1].window_settled and res[1].window_drift > 0.01


@pytest.mark.parametrize("change, field", [({"N": 11}, "N"), ({"batch": 16}, "batch")])
def test_runs_of_other_shapes_are_refused_naming_the_field(change, field):
    with pytest.raises(ValueError, match=f"share config.{field}"):
        train_batched(DISTS[:2], [CONFIGS[0], dataclasses.replace(CONFIGS[1], **change)])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"share dist.d"):
        train_batched([PromptDistribution(3), PromptDistribution(4)], CONFIGS[:2])
    with pytest.raises(ValueError, match="equal length"):
        train_batched(DISTS, CONFIGS[:2])
    with pytest.raises(ValueError, match="one entry per run"):
        train_batched(DISTS, CONFIGS, INITS[:2])
    with pytest.raises(ValueError, match=r"inits\[1\] must hold W_PV and W_KQ"):
        train_batched(DISTS[:2], CONFIGS[:2], [None, paper_init(2, 0.3)])
    with pytest.raises(ValueError, match=r"dists\[0\] must be a PromptDistribution"):
        train_batched([3], CONFIGS[:1])
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        train_batched(DISTS, CONFIGS, chunk=1.5)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_divergence_names_the_run_and_the_step(chunk):
    cfgs = [CONFIGS[0], CONFIGS[1], dataclasses.replace(CONFIGS[2], lr=1e4)]
    with np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match=r"diverged at step (\d+)") as single:
            train(DISTS[2], cfgs[2], INITS[2])
        step = single.value.args[0].split("step ")[1].split(":")[0]
        with pytest.raises(FloatingPointError, match=rf"LSA run 2 diverged at step {step}: loss = "):
            train_batched(DISTS, cfgs, INITS, chunk=chunk)
