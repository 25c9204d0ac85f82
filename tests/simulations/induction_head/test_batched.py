"""Batched training of R classification runs against R single runs.

Tolerance: float64, parameters within 1e-10 of the single run's (relative to the parameter's largest
entry) and histories within 1e-10. BLAS may order a stacked product's sums differently from the single
product (rounding 1e-16 per operation), and 30 SGD steps amplify such differences by far less than 1e6;
measured: 0 for every test here, float32 included (numpy calls the same gemm on each run's slice).
A real discrepancy (another run's seed, learning rate or batch) moves the parameters by more than 1e-3,
which the tests also show, so the comparison can fail. Accuracies are compared exactly: a rounding
difference flips an argmax only at an exact tie.
"""

import dataclasses

import numpy as np
import pytest

from simulations.induction_head import DataConfig, Task, TrainConfig, network, sgd_update, train
from simulations.induction_head.batched import run_params, sgd_update_stacked, stack_params, train_batched
from simulations.induction_head.minimal import MinimalInductionHead

TOL = 1e-10
BASE = DataConfig(K=32, L=8, N=4, D=11, P=12, B=2, p_C=0.5)
DATAS = [
    BASE,
    dataclasses.replace(BASE, K=64, B=1, epsilon=0.3, data_seed=3),
    dataclasses.replace(BASE, alpha=1.0, p_B=0.7, p_C=0.3),
]
KW = dict(batch=16, eval_size=40, dtype="float64")
CONFIGS = [
    TrainConfig(steps=30, eval_every=10, seed=0, lr=0.05, **KW),
    TrainConfig(steps=30, eval_every=10, seed=1, lr=0.1, weight_decay=1e-3, **KW),
    TrainConfig(steps=30, eval_every=10, seed=2, lr=0.02, weight_decay=0.0, **KW),
]


def max_differences(batched, single):
    """(largest relative parameter difference, largest history difference, largest map difference)."""
    dp = max(
        float(np.max(np.abs(batched.params[k] - v)) / max(float(np.max(np.abs(v))), 1e-300))
        for k, v in single.params.items()
    )
    dh = max(float(np.max(np.abs(batched.history[k] - v))) for k, v in single.history.items())
    dm = max(
        float(np.max(np.abs(batched.maps[k].astype(float) - v.astype(float)))) for k, v in single.maps.items()
    )
    return dp, dh, dm


def assert_same_run(batched, single):
    assert set(batched.history) == set(single.history) and set(batched.maps) == set(single.maps)
    assert batched.resumed_at is None
    for k, v in single.params.items():
        assert batched.params[k].shape == v.shape and batched.params[k].dtype == v.dtype, k
    for k, v in single.maps.items():
        assert batched.maps[k].shape == v.shape, k
    for k in ("step", "acc_ic", "acc_ic2", "acc_iw", "acc_train"):
        np.testing.assert_array_equal(batched.history[k], single.history[k], err_msg=k)
    dp, dh, dm = max_differences(batched, single)
    assert dp <= TOL and dh <= TOL and dm <= TOL, (dp, dh, dm)


@pytest.mark.parametrize("model", ["network", "minimal"])
def test_three_runs_equal_their_single_runs(model):
    results = train_batched(DATAS, CONFIGS, model)
    singles = [train(d, c, model) for d, c in zip(DATAS, CONFIGS, strict=True)]
    for res, single in zip(results, singles, strict=True):
        assert_same_run(res, single)
    # the comparison can fail: another run's weights are far outside the tolerance
    assert max_differences(results[0], singles[1])[0] > 1e-3


def test_float32_runs_equal_their_single_runs_to_float32_rounding():
    cfgs = [dataclasses.replace(c, dtype="float32", steps=20) for c in CONFIGS]
    results = train_batched(DATAS, cfgs, "network")
    for res, data, cfg in zip(results, DATAS, cfgs, strict=True):
        single = train(data, cfg)
        assert all(res.params[k].dtype == np.float32 for k in res.params)
        dp, dh, _ = max_differences(res, single)
        assert dp <= 1e-5 and dh <= 1e-5, (dp, dh)  # float32 rounding 6e-8, amplified by 20 steps


def test_runs_that_stop_early_or_run_longer_leave_the_stack():
    kw = dict(batch=16, eval_size=100, dtype="float64")
    for seed in range(6):  # a run whose IC accuracy sets a new maximum after step 0: stop there
        full = train(BASE, TrainConfig(steps=30, eval_every=5, seed=seed, **kw))
        acc = full.history["acc_ic"]
        rising = [k for k in range(1, len(acc)) if acc[k] > acc[:k].max()]
        if rising:
            break
    first = rising[0]  # the first evaluation that reaches acc[first]: the run must stop right there
    level = float(acc[first])
    cfgs = [
        TrainConfig(steps=30, eval_every=5, seed=seed, stop_at_ic=level, **kw),
        TrainConfig(steps=40, eval_every=8, seed=4, **kw),
        TrainConfig(steps=12, eval_every=5, seed=5, **kw),
    ]
    datas = [BASE, DATAS[1], DATAS[2]]
    results = train_batched(datas, cfgs, "network")
    assert list(results[0].history["step"]) == list(full.history["step"][: first + 1])
    assert list(results[1].history["step"]) == [0, 8, 16, 24, 32, 40]
    assert list(results[2].history["step"]) == [0, 5, 10, 12]
    for res, data, cfg in zip(results, datas, cfgs, strict=True):
        assert_same_run(res, train(data, cfg))


@pytest.mark.parametrize("model", ["network", "minimal"])
def test_chunks_of_the_stack_give_the_same_numbers(model):
    """chunk = 1 (three calls) and 2 (two calls) against the default (one call for these sizes)."""
    whole = train_batched(DATAS, CONFIGS, model)
    for chunk in (1, 2):
        for a, b in zip(train_batched(DATAS, CONFIGS, model, chunk=chunk), whole, strict=True):
            assert_same_run(a, b)


def test_redrawn_test_sets_give_the_same_numbers():
    cached = train_batched(DATAS[:2], CONFIGS[:2], cache_test_sets=True)
    redrawn = train_batched(DATAS[:2], CONFIGS[:2], cache_test_sets=False)
    for a, b in zip(cached, redrawn, strict=True):
        for k in a.history:
            np.testing.assert_array_equal(a.history[k], b.history[k])
        for k in a.maps:
            np.testing.assert_array_equal(a.maps[k], b.maps[k])


@pytest.mark.parametrize("model", ["network", "minimal"])
def test_stacked_loss_and_grads_are_each_runs_own(model):
    """One stacked call equals R single calls (float64, 1e-12 relative: rounding of the stacked BLAS)."""
    mdl = network if model == "network" else MinimalInductionHead(BASE.P)
    batches = [Task(d).sample(np.random.default_rng(j), 8, dtype=np.float64) for j, d in enumerate(DATAS)]
    runs = [mdl.init_params(BASE, np.random.default_rng(10 + j), dtype=np.float64) for j in range(3)]
    if model == "minimal":
        for j, p in enumerate(runs):
            p.update(
                {"ih.beta1": np.array(0.2 * j), "ih.alpha": np.array(1.0 + j), "ih.beta2": np.array(-0.3)}
            )
    tokens = np.stack([b.tokens for b in batches])
    labels = np.stack([b.labels for b in batches])
    losses, grads = mdl.loss_and_grads(stack_params(runs), tokens, labels)
    assert losses.shape == (3,)
    for j, (p, b) in enumerate(zip(runs, batches, strict=True)):
        loss, g = mdl.loss_and_grads(p, b.tokens, b.labels)
        assert losses[j] == pytest.approx(loss, rel=1e-12)
        for k, v in g.items():
            assert grads[k][j].shape == v.shape
            np.testing.assert_allclose(grads[k][j], v, rtol=1e-12, atol=1e-15 * np.abs(v).max(), err_msg=k)


def test_stacked_sgd_update_is_the_single_update_bit_for_bit():
    rng = np.random.default_rng(0)
    runs = [
        {"w": rng.standard_normal((3, 2)).astype(np.float32), "s": np.array(0.5, np.float32)}
        for _ in range(3)
    ]
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in p.items()} for p in runs]
    lr, wd = [0.01, 0.1, 0.3], [1e-6, 0.0, 1e-2]
    stacked = stack_params(runs)
    sgd_update_stacked(stacked, stack_params(grads), np.array(lr), np.array(wd))
    for j in range(3):
        sgd_update(runs[j], grads[j], lr[j], wd[j])
        for k, v in run_params(stacked, j).items():
            assert v.dtype == np.float32 and v.shape == runs[j][k].shape
            np.testing.assert_array_equal(v, runs[j][k])


@pytest.mark.parametrize(
    "change, field",
    [({"N": 8, "P": 17}, "data.N"), ({"L": 4}, "data.L"), ({"D": 10}, "data.D"), ({"P": 13}, "data.P")],
)
def test_runs_of_other_shapes_are_refused_naming_the_field(change, field):
    with pytest.raises(ValueError, match=f"share {field}"):
        train_batched([BASE, dataclasses.replace(BASE, **change)], CONFIGS[:2])


@pytest.mark.parametrize("change, field", [({"batch": 8}, "batch"), ({"dtype": "float32"}, "dtype")])
def test_configs_of_other_shapes_are_refused_naming_the_field(change, field):
    with pytest.raises(ValueError, match=f"share config.{field}"):
        train_batched(DATAS[:2], [CONFIGS[0], dataclasses.replace(CONFIGS[1], **change)])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="equal length"):
        train_batched(DATAS, CONFIGS[:2])
    with pytest.raises(ValueError, match="non-empty"):
        train_batched([], [])
    with pytest.raises(ValueError, match="model must be one of"):
        train_batched(DATAS, CONFIGS, network)
    with pytest.raises(ValueError, match=r"configs\[1\] must be"):
        train_batched(DATAS[:2], [CONFIGS[0], BASE])
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        train_batched(DATAS, CONFIGS, chunk=0)


@pytest.mark.parametrize("chunk", [None, 1, 2])
def test_divergence_names_the_run_and_the_step(chunk):
    """The single run of BASE, seed 1, lr = 1e6 diverges at step 3 (its loss is NaN)."""
    cfgs = [CONFIGS[0], dataclasses.replace(CONFIGS[1], lr=1e6), CONFIGS[2]]
    with np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match="diverged at step 3: loss = nan"):
            train(BASE, cfgs[1])
        with pytest.raises(FloatingPointError, match=r"run 1 \(seed 1\) diverged at step 3: loss = nan"):
            train_batched([DATAS[2], BASE, DATAS[1]], cfgs, chunk=chunk)
