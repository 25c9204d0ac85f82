"""The classification experiments at tiny sizes: configs, sweeps of points, checks."""

import dataclasses

import numpy as np
import pytest

from simulations.executors import InProcessExecutor, process_executor
from simulations.experiments.catalogue import EXPERIMENTS
from simulations.experiments.induction_head.data_dependence import DataDependenceConfig, _direction
from simulations.experiments.induction_head.side_by_side import SideBySideConfig
from simulations.experiments.induction_head.transition import TRANSITION, TransitionConfig
from simulations.experiments.kit import Context
from simulations.induction_head import DataConfig, TrainConfig, theory_contexts
from theory.induction_head import integrate_nested_logits

TINY_DATACONFIG = DataConfig(K=8, L=4, N=2, D=7, P=5, B=1, p_C=0.5)
TINY_TRAIN = TrainConfig(steps=40, batch=16, eval_every=20, eval_size=20)


def test_transition_sweep_is_the_same_in_parallel_and_in_process():
    cfg = TransitionConfig(
        data=TINY_DATACONFIG, train=TINY_TRAIN, Ns=(2,), L_multiples=(1, 2), seeds=(0,), theory_contexts=50
    )
    serial = TRANSITION.execute(cfg, Context(executor=InProcessExecutor()))
    with process_executor(2) as pool:
        parallel = TRANSITION.execute(cfg, Context(executor=pool))
    assert serial.summary == parallel.summary
    assert serial.arrays.keys() == parallel.arrays.keys()
    for k in serial.arrays:
        np.testing.assert_array_equal(serial.arrays[k], parallel.arrays[k])
    eq, gt = serial.summary["arms"]
    assert (eq["N"], eq["L"], gt["L"]) == (2, 2, 4)
    assert eq["theory_ideal"] is None  # L = N: the idealised flow never leaves the origin
    want = integrate_nested_logits(2, 4, 0.0, 1e4, level=0.75).t_transition
    assert gt["theory_ideal"] == pytest.approx(want, rel=1e-9)
    assert gt["theory_finite"] > 0


def test_theory_contexts_have_the_target_in_context_B_times():
    data = DataConfig(K=32, L=8, N=4, D=400, P=9, epsilon=0.0, B=2, p_C=0.0)
    ctx = theory_contexts(data, 200)
    match = ctx.context_labels == ctx.target[:, None]  # distinct labels per class in bursty contexts
    assert np.all(match.sum(axis=1) == 2)
    # ε = 0: a matching item is the same unit-norm-ish vector (|μ|² ≈ 1 ± 0.07 at D = 400); others ≈ 0
    assert abs(ctx.overlaps[match].mean() - 1) < 0.03 and abs(ctx.overlaps[~match].mean()) < 0.02


def test_data_dependence_points_are_deduplicated_and_valid():
    cfg = DataDependenceConfig(
        data=DataConfig(K=8, L=4, N=2, D=7, P=5, B=1),
        Ks=(8, 16),
        Bs=(0, 1),
        epsilons=(0.1, 0.5),
        alphas=(0.0, 1.0),
        mixture_p_B=(0.5,),
        mixture_p_C=(0.5,),
    )
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


def test_side_by_side_needs_bursty_data():
    with pytest.raises(ValueError, match="'data.B'"):
        SideBySideConfig(data=dataclasses.replace(TINY_DATACONFIG, B=0, p_C=0.0))


def test_paper_profiles_use_novel_classes_only_for_dynamics():
    """Novel classes (p_C > 0) in the dynamics experiments, p_C = 0 in the data-dependence grids."""
    for name in (
        "induction-head-curves",
        "induction-head-minimal",
        "induction-head-side-by-side",
        "induction-head-transition",
        "induction-head-initial-state",
    ):
        assert EXPERIMENTS[name].config("paper").data.p_C == 0.5, name
    grid = EXPERIMENTS["induction-head-data-dependence"].config("paper")
    assert grid.data.p_C == 0.0
    assert all(p["p_C"] == 0.0 for p in grid.sweeps()["KxB"])
    assert grid.data.K == 512 and grid.train.steps == 150000  # the real configs' own defaults


def test_transition_checks_at_L_equal_N():
    """L = N: a check that every network seed is slower than the L = 2N median (None: never), and a finding
    for "no seed learns"; hand-built rows for N = 2 with L = 2 and 4."""
    from simulations.experiments.induction_head.transition import TransitionConfig, _checks

    cfg = TransitionConfig(Ns=(2,), L_multiples=(1, 2), models=("network",), seeds=(0, 1, 2))

    def rows(steps_at_N):
        learned = [t for t in steps_at_N if t is not None]
        return [
            {
                "N": 2,
                "L": 2,
                "theory_ideal": None,
                "theory_finite": None,
                "network": {
                    "transition_steps": steps_at_N,
                    "fraction_learning_icl": len(learned) / 3,
                    "median_step": None,
                },
            },
            {
                "N": 2,
                "L": 4,
                "theory_ideal": 13.8,
                "theory_finite": 14.6,
                "network": {
                    "transition_steps": [1400, 1500, 1600],
                    "fraction_learning_icl": 1,
                    "median_step": 1500,
                },
            },
        ]

    def by_kind(checks):
        (slower,) = [c for c in checks if "slower than the L = 2N median" in c.name]
        (finding,) = [c for c in checks if "no seed learns ICL" in c.name]
        return slower, finding

    slower, finding = by_kind(_checks(cfg, rows([None, None, None])))
    assert slower.passed and slower.binding and finding.passed and not finding.binding
    slower, finding = by_kind(_checks(cfg, rows([4000, None, 1600])))  # later than 1500, or never
    assert slower.passed and not finding.passed
    slower, _ = by_kind(_checks(cfg, rows([4000, 1500, None])))  # one seed as fast as the median: fails
    assert not slower.passed


def test_compare_transition_times():
    """+1: the first later by the factor; None (no transition within the bound) is a lower bound."""
    from simulations.experiments.induction_head.initial_state import compare

    assert compare(2600, 1400, 1.25, 4000) == 1 and compare(1400, 2600, 1.25, 4000) == -1
    assert compare(1300, 1100, 1.25, 4000) == 0  # 1.18 < 1.25
    assert compare(1250, 1000, 1.25, 4000) == 1  # exactly the factor
    assert compare(None, 3000, 1.25, 4000) == 1 and compare(None, 3500, 1.25, 4000) is None
    assert compare(3000, None, 1.25, 4000) == -1 and compare(None, None, 1.25, 4000) is None


def test_initial_state_checks_on_hand_built_runs():
    """The offset check fails when the offset does not delay the jump by ratio_tol and is left out when the
    budget cannot tell; the findings compare the theory's and the network's orderings."""
    from simulations.experiments.induction_head.initial_state import InitialStateConfig, _checks

    cfg = InitialStateConfig(
        data=TINY_DATACONFIG,
        train=dataclasses.replace(TINY_TRAIN, steps=8000),
        init_scales=(0.5, 1.0),
        seeds=(0,),
    )

    def run(scale, offset, step, time):
        return {
            "init_scale": scale,
            "random_offset": offset,
            "seed": 0,
            "transition_step": step,
            "theory_time": time,
        }

    def names(runs):
        return {c.name: c for c in _checks(cfg, runs)}

    offset = "scale {}, seed 0: the random position offset delays the jump"
    predicts = "scale {}: the theory from the measured initial states predicts the offset's effect"
    orders = "{}: the theory from the measured initial states orders the initial scales as the network does"
    runs = [
        run(0.5, True, None, 24.0),
        run(0.5, False, 5000, 24.0),
        run(1.0, True, 2600, 30.0),
        run(1.0, False, 1400, 24.0),
    ]
    c = names(runs)
    assert c[offset.format(0.5)].passed and c[offset.format(1)].passed  # 8000/5000 = 1.6; 1.86
    assert not c[predicts.format(0.5)].passed  # theory 24/24: no delay
    assert c[predicts.format(1)].passed  # theory 30/24 = 1.25: a delay, as in the network
    assert not c[orders.format("random offset")].passed  # network: 1 before 0.5; theory: 0.5 before 1
    assert not c[orders.format("fixed positions")].passed  # network 5000 vs 1400; theory tie
    assert all(not x.binding for x in c.values() if "theory" in x.name)
    runs[1] = run(0.5, False, 7000, 24.0)  # 8000 / 7000 < 1.25: the budget cannot tell
    assert offset.format(0.5) not in names(runs)
    runs[2], runs[3] = run(1.0, True, 2500, 30.0), run(1.0, False, 2000, 24.0)  # exactly 1.25: passes
    assert names(runs)[offset.format(1)].passed
    runs[2] = run(1.0, True, 2400, 30.0)  # 1.2: fails
    assert not names(runs)[offset.format(1)].passed
