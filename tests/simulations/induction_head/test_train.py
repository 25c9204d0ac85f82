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


def test_the_trainer_enters_the_blas_thread_limit_its_config_names(monkeypatch):
    """(TrainConfig.blas_threads: 1 by default, the fastest on a laptop.) train runs inside
    blas_threads(n) with the config's n: 1 by default, 2 when asked."""
    import simulations.induction_head.training as training
    from tests.spies import record_blas_threads

    seen = record_blas_threads(monkeypatch, training)
    for cfg in (
        TrainConfig(steps=2, batch=8, eval_every=2, eval_size=40),
        TrainConfig(steps=2, batch=8, eval_every=2, eval_size=40, blas_threads=2),
    ):
        train(SMALL, cfg)
    assert seen == [1, 2]


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


@pytest.mark.parametrize(
    "field, smallest",
    [("steps", 1), ("batch", 1), ("eval_every", 1), ("eval_size", 10), ("checkpoint_every", 1), ("seed", 0)],
)
def test_training_config_bounds_are_inclusive(field, smallest):
    """The smallest valid value of each count is accepted (batch 1 is plain SGD), one less is refused."""
    assert getattr(TrainConfig(**{field: smallest}), field) == smallest
    with pytest.raises(ValueError, match=f"'{field}' must be >= {smallest}"):
        TrainConfig(**{field: smallest - 1})


def test_the_default_optimiser_is_the_papers():
    """Reddy (2023): SGD with learning rate 0.01, batch 128, weight decay 1e-6, 150,000 steps
    (docs/induction_head.md §2, "Training")."""
    cfg = TrainConfig()
    assert (cfg.lr, cfg.batch, cfg.weight_decay, cfg.steps) == (0.01, 128, 1e-6, 150000)


def test_weight_decay_lies_in_zero_to_one():
    """p ← (1 − wd) p − lr∇p: wd = 0 is plain SGD and wd just below 1 still keeps part of each weight;
    wd = 1 would drop the weights (p ← −lr∇p) and wd < 0 would grow them; both are refused."""
    assert TrainConfig(weight_decay=0.0).weight_decay == 0.0
    assert TrainConfig(weight_decay=0.999).weight_decay == 0.999
    for bad in (1.0, -1e-9):
        with pytest.raises(ValueError, match=r"'weight_decay' must lie in \[0, 1\)"):
            TrainConfig(weight_decay=bad)


def _hand_built_measure_inputs():
    """Two sequences, N = 3 (T = 7), L = 5, with attention maps and logits whose measures are known."""
    from simulations.induction_head.data import Batch

    rng = np.random.default_rng(41)
    attn1 = rng.uniform(0, 0.05, size=(2, 7, 7))  # small distractors everywhere else
    for b, vals in enumerate(([0.2, 0.4, 0.9], [0.1, 0.3, 0.5])):
        for j, v in enumerate(vals):
            attn1[b, 2 * j + 1, 2 * j] = v  # label token 2j+1 on the item 2j before it
    attn2 = np.array(
        [[0.05, 0.1, 0.05, 0.3, 0.05, 0.2, 0.25], [0.1, 0.4, 0.1, 0.1, 0.05, 0.15, 0.1]]
    )  # label tokens (1, 3, 5): 0.1, 0.3, 0.2 and 0.4, 0.1, 0.15
    match = np.array([[False, True, False], [True, False, True]])
    probs = np.array([[0.1, 0.2, 0.3, 0.15, 0.25], [0.05, 0.05, 0.5, 0.2, 0.2]])
    logits = np.log(probs) + np.array([[3.0], [-1.0]])  # a shift per row leaves the softmax unchanged
    ctx = np.array([[0, 2, 2], [4, 1, 4]])  # present labels {0, 2} and {1, 4}
    batch = Batch(np.zeros((2, 7, 1)), np.array([2, 4]), np.array([0, 1]), ctx, match)
    return attn1, attn2, logits, batch


def test_progress_measures_on_hand_built_maps():
    """ILA1 = mean of the six label→item entries (0.2 + 0.4 + 0.9 + 0.1 + 0.3 + 0.5)/6 = 0.4; TILA2 = mean
    over sequences of the target's attention on the matching labels ((0.3) + (0.4 + 0.15))/2 = 0.425;
    TLA2 = mean total on label tokens (0.6 + 0.65)/2 = 0.625; CLA = mean softmax mass on context labels
    ((0.1 + 0.3) + (0.05 + 0.2))/2 = 0.325; accuracy: argmax 2 and 2 against labels 2 and 4 = ½. Exact up
    to rounding: abs 1e-12."""
    from simulations.induction_head import accuracy, progress_measures

    attn1, attn2, logits, batch = _hand_built_measure_inputs()
    got = progress_measures(attn1, attn2, logits, batch)
    want = {"ILA1": 0.4, "TILA2": 0.425, "TLA2": 0.625, "CLA": 0.325}
    assert got == pytest.approx(want, abs=1e-12)
    assert accuracy(logits, batch.labels) == 0.5


def test_evaluate_computes_the_progress_measures_on_the_ic_set():
    """A stub model whose attention maps hold one value per test set (its tokens' first entry): the
    measures and the mean maps evaluate returns must carry the IC set's value, the accuracies each set's."""
    from simulations.induction_head.training import evaluate, evaluation_sets

    cfg = TrainConfig(steps=1, eval_size=20)
    sets = evaluation_sets(SMALL, cfg)
    value = {"ic": 0.125, "ic2": 0.25, "iw": 0.375, "train": 0.5}
    sets = {k: dataclasses.replace(b, tokens=np.full_like(b.tokens, value[k])) for k, b in sets.items()}

    class Stub:
        def forward(self, params, tokens):
            v = float(tokens[0, 0, 0])
            B, T = tokens.shape[:2]
            logits = np.zeros((B, SMALL.L))
            logits[:, int(8 * v) % SMALL.L] = 1.0  # predicts label 1, 2, 3 or 4 by set
            return logits, np.full((B, T, T), v), np.full((B, T), v)

    out = evaluate({}, sets, Stub())
    v = value["ic"]
    assert out["ILA1"] == v and out["TLA2"] == pytest.approx(SMALL.N * v, rel=1e-12)
    assert out["TILA2"] == pytest.approx(v * sets["ic"].context_match.sum(axis=1).mean(), rel=1e-12)
    np.testing.assert_array_equal(out["attn1_mean"], np.full((9, 9), v))
    assert out["attn2_examples"].shape == (8, 9) and np.all(out["attn2_examples"] == v)
    for k, b in sets.items():
        assert out[f"acc_{k}"] == np.mean(b.labels == int(8 * value[k]) % SMALL.L)


def test_the_batch_at_every_step_is_a_function_of_seed_and_step_only():
    """The trainer's batch at step k is Task.sample(batch_rng(seed, k)) for each of 60 steps, whatever the
    learning rate, evaluation schedule or run length, and after a resume; another seed gives another batch
    at every step, and no batch repeats within a run (an off-by-one in k, a step-independent or a
    seed-independent stream all fail)."""
    from simulations.induction_head import MinimalInductionHead, Task
    from simulations.seeding import batch_rng

    class Recording(MinimalInductionHead):
        def __init__(self, P):
            super().__init__(P)
            self.seen = []

        def loss_and_grads(self, params, tokens, labels):
            self.seen.append((tokens.copy(), labels.copy()))
            return super().loss_and_grads(params, tokens, labels)

    def run(steps, seed, **kw):
        model = Recording(SMALL.P)
        train(SMALL, TrainConfig(steps=steps, batch=4, seed=seed, eval_size=10, **kw), model)
        return model.seen

    a = run(60, 5, eval_every=30)
    b = run(40, 5, eval_every=7, lr=0.03)
    c = run(60, 6, eval_every=30)
    task = Task(SMALL)
    for k in range(60):
        want = task.sample(batch_rng(5, k), 4, "train", dtype=np.float32)
        np.testing.assert_array_equal(a[k][0], want.tokens)
        np.testing.assert_array_equal(a[k][1], want.labels)
        if k < 40:
            np.testing.assert_array_equal(b[k][0], a[k][0])
        assert not np.array_equal(c[k][0], a[k][0])
    assert len({t.tobytes() for t, _ in a}) == 60


def test_a_resumed_run_sees_the_batches_of_the_steps_it_resumes_at(tmp_path):
    from simulations.induction_head import MinimalInductionHead

    seen = []

    class Recording(MinimalInductionHead):
        def loss_and_grads(self, params, tokens, labels):
            seen.append(tokens.copy())
            return super().loss_and_grads(params, tokens, labels)

    kw = dict(batch=4, eval_every=10, eval_size=10, checkpoint_every=20, seed=2)
    ck = tmp_path / "ck.npz"
    train(SMALL, TrainConfig(steps=20, **kw), Recording(SMALL.P), checkpoint=ck)
    with pytest.warns(ResumedWarning):
        train(SMALL, TrainConfig(steps=35, **kw), Recording(SMALL.P), checkpoint=ck)
    resumed = seen[20:]
    seen.clear()
    train(SMALL, TrainConfig(steps=35, **kw), Recording(SMALL.P))
    assert len(resumed) == 15
    for got, want in zip(resumed, seen[20:], strict=True):
        np.testing.assert_array_equal(got, want)


def test_plateau_level_crossing_and_midpoint_by_hand():
    """B/N and (B/N + 1)/2 (1/N for B = 0); the first step at or above a level; the first time a rising or
    falling curve passes halfway between its first and last values, the direction read from those two."""
    from simulations.induction_head import crossing, midpoint, plateau, transition_level

    data = DataConfig(K=64, L=8, N=8, D=7, P=17, B=2)
    assert plateau(data) == 0.25 and transition_level(data) == 0.625
    no_burst = dataclasses.replace(data, B=0, p_C=0.0)
    assert plateau(no_burst) == 0.125 and transition_level(no_burst) == 0.5625
    steps = [0, 10, 20, 30]
    assert crossing(steps, [0.1, 0.5, 0.625, 0.9], 0.625) == 20.0  # reaching the level counts
    assert crossing(steps, [0.1, 0.5, 0.6, 0.62], 0.625) is None
    t = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert midpoint(t, [0.0, 0.1, 0.4, 0.6, 1.0]) == 3.0
    assert midpoint(t, [1.0, 0.9, 0.6, 0.4, 0.0]) == 3.0
    assert midpoint(t[:4], [0.0, 2.0, 0.5, 1.0]) == 1.0  # rising from 0 to 1 through an overshoot at t = 1
    assert midpoint(t, [0.0, 1.0, 2.0, -1.0, 3.0]) == 2.0  # the direction comes from the last value only
    assert midpoint(t[:4], [0.5, 0.0, 0.4, 1.0]) == 3.0  # rising to 1 after a first step down: not falling


def test_learned_verdicts_use_their_margins():
    """icl_learned: IC and IC2 >= B/N + 0.2 and ILA1, TILA2 >= their step-0 values + 0.2; iwl_learned:
    IW >= 1/L + 0.2 (B/N = 0.25, 1/L = 0.125). Values 0.05 inside and outside each margin."""
    from simulations.induction_head import Criteria, icl_learned, iwl_learned

    data = DataConfig(K=64, L=8, N=8, D=7, P=17, B=2)

    def hist(ic=0.5, ic2=0.5, ila1=0.5, tila2=0.5, iw=0.375):
        return {
            "acc_ic": np.array([0.25, 0.3, ic]),
            "acc_ic2": np.array([0.0, 0.1, ic2]),
            "ILA1": np.array([0.25, 0.25, ila1]),
            "TILA2": np.array([0.125, 0.2, tila2]),
            "acc_iw": np.array([0.125, 0.2, iw]),
        }

    assert icl_learned(hist(), data)  # every margin met by 0.05
    for k, v in (("ic", 0.4), ("ic2", 0.4), ("ila1", 0.4), ("tila2", 0.275)):
        assert not icl_learned(hist(**{k: v}), data), k  # 0.05 short of B/N + 0.2 or start + 0.2
    assert icl_learned(hist(ila1=0.4), data, Criteria(head_margin=0.1))
    assert not icl_learned(hist(), data, at=1)  # at an earlier evaluation
    assert iwl_learned(hist(), data) and not iwl_learned(hist(iw=0.3), data)
    assert iwl_learned(hist(iw=0.3), data, Criteria(iwl_margin=0.15)) and not iwl_learned(hist(), data, at=1)
    # every margin is inclusive: values exactly at B/N + 0.25, start + 0.25 and 1/L + 0.375 (exact in binary)
    exact = Criteria(icl_margin=0.25, head_margin=0.25, iwl_margin=0.375)
    assert icl_learned(hist(ic=0.5, ic2=0.5, ila1=0.5, tila2=0.375), data, exact)
    assert iwl_learned(hist(iw=0.5), data, exact)


def test_summarise_reads_the_plateau_at_three_quarters_of_the_transition():
    """Evaluations every 100 steps; IC accuracy first reaches the level 0.625 at step 800, so the plateau is
    read at the evaluation nearest 600; the final values are the last ones; each measure's midpoint is the
    first step halfway between its first and last value."""
    from simulations.induction_head import summarise

    data = DataConfig(K=64, L=8, N=8, D=7, P=17, B=2)
    s = np.arange(0, 1100, 100.0)
    ic = np.array([0.2, 0.25, 0.25, 0.26, 0.27, 0.28, 0.3, 0.4, 0.7, 0.9, 0.95])
    ramp = np.linspace(0.0, 1.0, 11)
    h = {
        "step": s,
        "acc_ic": ic,
        "acc_ic2": np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.2, 0.3, 0.35, 0.4]),
        "acc_iw": np.full(11, 0.1),
        "ILA1": ramp,
        "TILA2": ramp**2,
        "TLA2": 1 - ramp,
        "CLA": np.where(s >= 300, 1.0, 0.0),
    }
    out = summarise(h, data)
    assert out["transition_step"] == 800.0
    assert out["plateau_step"] == 600.0 and out["plateau_acc_ic"] == 0.3
    assert (out["final_acc_ic"], out["final_acc_ic2"], out["final_acc_iw"]) == (0.95, 0.4, 0.1)
    assert out["icl_learned"] is False and out["iwl_learned"] is False  # IC2 0.4 < 0.45; IW 0.1 < 0.325
    assert out["ILA1_midpoint_step"] == 500.0 and out["TILA2_midpoint_step"] == 800.0
    assert out["TLA2_midpoint_step"] == 500.0 and out["CLA_midpoint_step"] == 300.0


def test_a_run_shorter_than_one_evaluation_interval_is_evaluated_at_its_start_and_end():
    res = train(SMALL, TrainConfig(steps=3, batch=4, eval_every=10, eval_size=10))
    assert list(res.history["step"]) == [0, 3] and res.maps["attn1"].shape[0] == 2
