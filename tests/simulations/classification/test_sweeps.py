"""The sweep experiments: transition times (theory vs models) and data dependence, at tiny sizes."""
import numpy as np
import pytest

from simulations.classification.exp_data_dependence import DataDependenceConfig, _direction
from simulations.classification.exp_transition import TransitionConfig, run_transition, theory_contexts
from theory.induction_head import integrate_nested_logits

TINY = dict(K=8, D=7, P=5, steps=40, batch=16, eval_every=20, eval_size=20, theory_contexts=50)


def test_transition_sweep_is_the_same_in_parallel_and_serial(monkeypatch):
    cfg = TransitionConfig(Ns=(2,), L_multiples=(1, 2), seeds=(0,), **TINY)
    monkeypatch.setenv("ICL_DYNAMICS_JOBS", "1")
    serial = run_transition(cfg)
    monkeypatch.setenv("ICL_DYNAMICS_JOBS", "2")
    parallel = run_transition(cfg)
    assert serial.metrics == parallel.metrics
    assert serial.arrays.keys() == parallel.arrays.keys()
    for k in serial.arrays:
        np.testing.assert_array_equal(serial.arrays[k], parallel.arrays[k])
    eq, gt = serial.metrics["arms"]
    assert (eq["N"], eq["L"], gt["L"]) == (2, 2, 4)
    assert eq["theory_ideal"] is None  # L = N: the idealised flow never leaves the origin
    want = integrate_nested_logits(2, 4, 0.0, 1e4, level=0.75).t_transition
    assert gt["theory_ideal"] == pytest.approx(want, rel=1e-9)
    assert gt["theory_finite"] > 0


def test_theory_contexts_have_the_target_in_context_B_times():
    cfg = TransitionConfig(Ns=(4,), **{**TINY, "K": 32, "D": 400, "P": 9, "epsilon": 0.0, "B": 2, "p_C": 0.0})
    ctx = theory_contexts(cfg.arm(4, 8), 200)
    match = ctx.context_labels == ctx.target[:, None]  # distinct labels per class in bursty contexts
    assert np.all(match.sum(axis=1) == 2)
    # ε = 0: a matching item is the same unit-norm-ish vector (|μ|² ≈ 1 ± 0.07 at D = 400); others ≈ 0
    assert abs(ctx.overlaps[match].mean() - 1) < 0.03 and abs(ctx.overlaps[~match].mean()) < 0.02


def test_data_dependence_points_are_deduplicated_and_valid():
    cfg = DataDependenceConfig(Ks=(8, 16), Bs=(0, 1), epsilons=(0.1, 0.5), alphas=(0.0, 1.0),
                               mixture_p_B=(0.5,), mixture_p_C=(0.5,), K=8, L=4, N=2, D=7, P=5)
    pts = cfg.points()
    assert len(pts) == len({tuple(p.values()) for p in pts})
    # 4 K×B points (centre K = 8, B = 1 among them) + ε = 0.5 + α = 1 + one mixture point
    assert len(pts) == 4 + 1 + 1 + 1
    assert all(p["p_C"] == 0 for p in pts if p["B"] == 0)
    with pytest.raises(ValueError, match="mixture_p_B"):
        DataDependenceConfig(mixture_p_B=(1.0,))
    with pytest.raises(ValueError, match="'Ks'"):
        DataDependenceConfig(Ks=(32,))


def test_direction_check():
    assert _direction("up", [0.1, 0.5, 0.9], +1, 0.07).passed
    assert not _direction("too small", [0.5, 0.52], +1, 0.07).passed
    assert not _direction("reversal", [0.1, 0.9, 0.5, 0.95], +1, 0.07).passed
    assert _direction("down", [0.9, 0.93, 0.2], -1, 0.07).passed


def test_midpoint_of_rising_and_falling_curves():
    from simulations.classification.exp_side_by_side import SideBySideConfig, midpoint
    t = np.arange(5.0)
    assert midpoint(t, [0.0, 0.1, 0.6, 0.9, 1.0]) == 2.0
    assert midpoint(t, [1.0, 0.9, 0.8, 0.2, 0.0]) == 3.0
    with pytest.raises(ValueError, match="'B'"):
        SideBySideConfig(B=0, p_C=0.0)


def test_paper_profiles_use_novel_classes_only_for_dynamics():
    """Spec §1: p_C > 0 in the dynamics experiments, p_C = 0 in the data-dependence grids."""
    from simulations.registry import experiments
    exps = experiments()
    for name in ("icl-training-curves", "ih-minimal-model", "ih-side-by-side", "ih-transition-times"):
        assert exps[name].config("paper").p_C == 0.5, name
    grid = exps["ih-data-dependence"].config("paper")
    assert grid.p_C == 0.0
    assert all(p["p_C"] == 0.0 for p in grid.sweeps()["KxB"])
