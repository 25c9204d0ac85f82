import warnings

import numpy as np
import pytest

from simulations.linear_attention import (
    AveragingWindowWarning,
    PromptDistribution,
    TrainConfig,
    effective_matrix,
    flow_vs_network,
    paper_init,
    train,
)
from theory.linear_attention import global_minimizer, stable_lr


def test_small_network_reaches_gamma_inverse():
    """d = 2, N = 10: the Polyak-averaged network is within 2% of Γ⁻¹ (measured ≈ 0.3–0.6%)."""
    lam = np.diag([0.7, 1.4])
    cmp = flow_vs_network(lam, 10, batch=256, average_steps=1500, seed=0)
    target = global_minimizer(lam, 10)
    np.testing.assert_allclose(cmp.minimizer, target, rtol=1e-12)
    assert cmp.endpoint_error < 0.02
    assert cmp.network.eval_loss[-1] < 0.6 * cmp.network.eval_loss[0]
    assert cmp.network.window_settled
    # at least 40 records before the averaging window: the transient is resolved
    assert np.sum(cmp.network.time <= cmp.t_train) >= 40


def test_training_is_deterministic_given_seed():
    cfg = TrainConfig(N=5, lr=0.05, steps=30, batch=16, seed=3, record_every=10)
    a = train(PromptDistribution(2), cfg, paper_init(2, 0.5))
    b = train(PromptDistribution(2), cfg, paper_init(2, 0.5))
    np.testing.assert_array_equal(a.params["W_KQ"], b.params["W_KQ"])


def test_polyak_average_is_the_mean_of_the_last_iterates_exactly():
    """steps = 12, average_last = 0.25: the average is over the iterates after steps 10, 11 and 12 (the
    batch at step k depends on (seed, k) only, so shorter runs give those iterates)."""
    dist = PromptDistribution(2)
    kw = dict(N=4, lr=0.05, batch=8, seed=1, record_every=1)
    full = train(dist, TrainConfig(steps=12, average_last=0.25, **kw), paper_init(2, 0.5))
    iterates = [train(dist, TrainConfig(steps=s, **kw), paper_init(2, 0.5)).params for s in (10, 11, 12)]
    for k in ("W_PV", "W_KQ"):
        np.testing.assert_allclose(full.params_avg[k], np.mean([p[k] for p in iterates], axis=0), rtol=1e-13)
        assert not np.allclose(full.params_avg[k], np.mean([p[k] for p in iterates[:2]], axis=0), rtol=1e-9)
    assert full.average_start == 9
    np.testing.assert_allclose(full.V_avg, effective_matrix(full.params_avg), rtol=1e-14)


def test_a_window_that_starts_before_convergence_warns():
    dist = PromptDistribution(3)
    with pytest.warns(AveragingWindowWarning, match="drifted") as caught:
        res = train(dist, TrainConfig(N=10, lr=0.01, steps=400, batch=64, average_last=1.0, record_every=5))
    assert not res.window_settled and res.window_drift > 0.01
    assert caught[0].filename == __file__  # the warning points at train's caller, this line
    with warnings.catch_warnings():
        warnings.simplefilter("error", AveragingWindowWarning)
        cmp = flow_vs_network(np.eye(2), 10, batch=256, average_steps=1500)
    assert cmp.network.window_drift < 0.01


def test_divergence_stops_with_a_message():
    with pytest.raises(FloatingPointError, match="diverged at step"):
        with np.errstate(all="ignore"):
            train(PromptDistribution(5), TrainConfig(N=5, lr=50.0, steps=200, batch=16), paper_init(5, 0.5))


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"steps": -5}, "'steps' must be an integer >= 1"),
        ({"lr": -1.0}, "'lr' must be a finite number > 0"),
        ({"lr": float("inf")}, "'lr' must be a finite number"),
        ({"N": True}, "'N' must be an integer"),
        ({"average_last": 0.0}, "'average_last' must lie in"),
    ],
)
def test_bad_training_configs_are_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_stable_lr_is_inverse_in_fourth_moment():
    # isotropic d: E(wᵀw)² = d² + 2d
    d, N = 4, 8
    assert stable_lr(np.eye(d), N) == pytest.approx(1 / (np.linalg.norm(global_minimizer(np.eye(d), N)) * 24))


def test_the_batch_at_every_step_is_a_function_of_seed_and_step_only():
    """The trainer's batch at step k is dist.sample(batch_rng(seed, k)) for each of 50 steps, whatever the
    learning rate, record schedule, averaging window or run length; another seed gives another batch at
    every step and no batch repeats within a run (an off-by-one in k, or a stream that ignores the step or
    the seed, fails). The evaluation set (eval_size prompts, not ``batch``) is left out of the record."""
    from simulations.seeding import batch_rng

    seen = []

    class Recording(PromptDistribution):
        def sample(self, rng, batch, M):
            pr = super().sample(rng, batch, M)
            if batch == 8:
                seen.append(pr.X.copy())
            return pr

    def run(steps, seed, **kw):
        seen.clear()
        cfg = TrainConfig(N=4, batch=8, eval_size=16, steps=steps, seed=seed, **kw)
        train(Recording(2), cfg, paper_init(2, 0.5))
        return list(seen)

    a = run(50, 3, lr=0.05, record_every=10)
    b = run(30, 3, lr=0.01, record_every=3, average_last=0.5)
    c = run(50, 4, lr=0.05, record_every=10)
    dist = PromptDistribution(2)
    for k in range(50):
        np.testing.assert_array_equal(a[k], dist.sample(batch_rng(3, k), 8, 4).X)
        if k < 30:
            np.testing.assert_array_equal(b[k], a[k])
        assert not np.array_equal(c[k], a[k])
    assert len(a) == 50 and len({x.tobytes() for x in a}) == 50


def test_default_initialisation_is_the_paper_one_with_sigma_one_over_root_d():
    cfg = TrainConfig(N=4, lr=0.05, steps=5, batch=8, record_every=1)
    a = train(PromptDistribution(3), cfg)
    b = train(PromptDistribution(3), cfg, paper_init(3, 1 / np.sqrt(3)))
    for k in ("W_PV", "W_KQ"):  # 3**-0.5 and 1/√3 may differ in the last bit: rtol 1e-12
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.V[0], np.eye(3) / 3 / np.sqrt(3), rtol=1e-14)  # σ²ΘΘᵀ = (1/3)(I/√3)


def test_a_window_shorter_than_one_step_averages_the_final_iterate_only():
    """average_last = 0.01 of 10 steps rounds to no step at all: the window is the last step, so the
    average is the final iterate."""
    res = train(PromptDistribution(2), TrainConfig(N=4, lr=0.05, steps=10, batch=8, average_last=0.01))
    assert res.average_start == 9
    for k in ("W_PV", "W_KQ"):
        np.testing.assert_allclose(res.params_avg[k], res.params[k], rtol=1e-15)


def test_window_drift_of_a_linear_trend_written_out():
    """u·U rising linearly over 16 records (steps 1..16, V_k = k·E): 8 blocks of 2 records have means
    1.5, 3.5, …, 15.5; D = mean of the last 4 − mean of the first 4 = 12.5 − 4.5 = 8; its noise scale
    √(Σ 2 var(last 4 block means)/4) = √(2 · (20/3)/4) ≈ 1.83 < 8/3, so it counts: drift = ‖D‖/‖V̄‖ =
    8/8.5. A flat window, and one with fewer than 16 records, give 0."""
    from simulations.linear_attention.training import _window_drift

    steps = np.arange(17)
    E = np.array([[1.0, 0.0], [0.0, 0.0]])
    Vs = steps[:, None, None] * E
    assert _window_drift(steps, Vs, 0) == pytest.approx(8 / 8.5, rel=1e-12)
    assert _window_drift(steps, np.ones_like(Vs), 0) == 0.0
    assert _window_drift(steps, Vs, 1) == 0.0  # 15 records after step 1


def test_records_every_record_every_steps_then_sparser_in_the_window():
    """steps = 1000, average_last = 0.4: the window starts after step 600. record_every = 5 up to there;
    inside, window_records = 20 gives every 5 · ⌊400 / (5 · 20)⌋ = 20 steps; and the last step. With
    average_last = 0.34 (window after 660), record_every = 10 and window_records = 16: every
    10 · ⌊340 / 160⌋ = 20 steps, 17 records, at least the 16 asked for (rounding up would leave 12)."""
    cfg = TrainConfig(steps=1000, average_last=0.4, record_every=5, window_records=20)
    want = [s for s in range(0, 601, 5)] + [s for s in range(620, 1001, 20)]
    assert [s for s in range(1001) if cfg.records_at(s)] == want
    tight = TrainConfig(steps=1000, average_last=0.34, record_every=10, window_records=16)
    inside = [s for s in range(661, 1001) if tight.records_at(s)]
    assert inside == list(range(680, 1001, 20)) and len(inside) == 17
    # the averaging start, 605 = 121 · 5, is still recorded every 5 steps; the window's every 15 steps
    # (5 · ⌊395 / 100⌋) apply only after it
    edge = TrainConfig(steps=1000, average_last=0.395, record_every=5, window_records=20)
    assert [s for s in range(600, 631) if edge.records_at(s)] == [600, 605, 615, 630]
    odd = TrainConfig(steps=103, average_last=0.5, record_every=7, window_records=16)  # window after 52
    want = [s for s in range(0, 53, 7)] + [s for s in range(56, 103, 7)] + [103]
    assert [s for s in range(104) if odd.records_at(s)] == want


def test_recorded_loss_is_half_the_mean_squared_error_of_the_full_forward():
    """The recorder's evaluation loss against ½ mean (f(E)_{d+1,M+1} − y_q)² from the LSA's full output."""
    from simulations.linear_attention.network import embed, forward, random_init
    from simulations.linear_attention.training import Recorder
    from simulations.seeding import stream_rng

    dist = PromptDistribution(3, cov=np.diag([0.5, 1.0, 2.0]))
    cfg = TrainConfig(N=6, eval_size=300, seed=2)
    rec = Recorder.for_run(dist, cfg)
    p = random_init(3, 1.0, np.random.default_rng(5))
    rec.record(p, 0)
    ev = dist.sample(stream_rng(cfg.seed, "eval"), cfg.eval_size, cfg.N)  # the run's evaluation set
    E = embed(ev.X, ev.y, ev.x_query)
    want = 0.5 * np.mean((forward(p, E)[:, -1, -1] - ev.y_query) ** 2)
    assert rec.losses[0] == pytest.approx(want, rel=1e-12)


def test_training_runs_on_one_blas_thread_unless_told(monkeypatch):
    """Workers train side by side with one BLAS thread each (docs/cli.md): the config's default is 1, and
    ``train`` enters exactly the thread limit its config names."""
    import simulations.linear_attention.training as training
    from tests.spies import record_blas_threads

    seen = record_blas_threads(monkeypatch, training)
    for cfg in (
        TrainConfig(N=5, steps=2, batch=8, record_every=1),
        TrainConfig(N=5, steps=2, batch=8, blas_threads=2),
    ):
        train(PromptDistribution(2), cfg, paper_init(2, 0.5))
    assert seen == [1, 2]


def test_flow_vs_network_records_the_transient_at_least_40_times():
    """record_every = max(1, min(steps // records, transient // 40)), transient = ⌈t_train / lr⌉ (written
    out here): with records = 1 the transient's 40 sets the spacing of the network's records."""
    lam = np.diag([0.7, 1.4])
    cmp = flow_vs_network(lam, 10, batch=16, average_steps=50, records=1, min_transient_steps=400, seed=0)
    transient = int(np.ceil(cmp.t_train / cmp.lr))
    assert transient >= 400
    every = max(1, transient // 40)
    assert round(cmp.network.time[1] / cmp.lr) == every
    np.testing.assert_allclose(np.diff(cmp.network.time)[:10], every * cmp.lr, rtol=1e-12)


def test_training_config_bounds():
    """lr and drift_tol must be > 0 (0 is refused), average_last lies in (0, 1] (1 is accepted: average
    every step), window_records >= 16 (16 accepted)."""
    for field in ("lr", "drift_tol", "average_last"):
        with pytest.raises(ValueError, match=f"'{field}' must"):
            TrainConfig(**{field: 0.0})
    assert TrainConfig(average_last=1.0).average_last == 1.0
    with pytest.raises(ValueError, match=r"'average_last' must lie in \(0, 1\]"):
        TrainConfig(average_last=1.5)
    assert TrainConfig(window_records=16).window_records == 16
    with pytest.raises(ValueError, match="'window_records' must be an integer >= 16"):
        TrainConfig(window_records=15)
