import numpy as np
import pytest

from theory.induction_head import (
    growth_order,
    integrate_nested_logits,
    model,
    nested_logit_loss,
    origin_gradient,
    origin_is_critical_iff_L_equals_N,
)


def test_loss_matches_its_definition():
    b1, a, x, N, L = 0.3, 1.7, 2.2, 5, 12
    s = 1 / (1 + np.exp(-b1))
    p = np.exp(a * s) / (np.exp(a * s) + N - 1)
    q = (1 - p) / (N - 1)
    want = -np.log(np.exp(x * p) / (np.exp(x * p) + (N - 1) * np.exp(x * q) + L - N))
    assert nested_logit_loss(b1, a, x, N, L) == pytest.approx(want, rel=1e-13)
    assert nested_logit_loss(np.zeros((2, 1)), np.zeros(3), 0.0, 8, 32).shape == (2, 3)
    assert nested_logit_loss(0, 0, 0, 8, 32) == pytest.approx(np.log(32))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_sympy_gradient_and_hessian_match_finite_differences(depth):
    m = model(depth)
    rng = np.random.default_rng(depth)
    y = rng.normal(size=depth)
    N, L, h = 6, 20, 1e-6
    g = np.array(m["f_grad"](*y, N, L), float)
    H = np.array(m["f_hess"](*y, N, L), float)
    for k in range(depth):
        e = np.zeros(depth)
        e[k] = h
        num_g = (m["f_loss"](*(y + e), N, L) - m["f_loss"](*(y - e), N, L)) / (2 * h)
        assert num_g == pytest.approx(g[k], rel=1e-6, abs=1e-9)
        num_h = (np.array(m["f_grad"](*(y + e), N, L)) - np.array(m["f_grad"](*(y - e), N, L))) / (2 * h)
        np.testing.assert_allclose(num_h, H[:, k], rtol=1e-5, atol=1e-8)


def test_origin_gradient_and_criticality():
    assert origin_gradient(8, 32) == (0, 0, pytest.approx(-(1 / 8 - 1 / 32)))
    assert origin_is_critical_iff_L_equals_N()


@pytest.mark.parametrize("N, L", [(2, 16), (4, 32), (8, 32), (8, 64)])
def test_curriculum_xi_then_alpha_then_beta1(N, L):
    tr = integrate_nested_logits(N, L, 0.0, t_max=1e5)
    assert [name for name, _ in growth_order(tr)] == ["xi", "alpha", "beta1"]
    assert tr.t_transition is not None and tr.p_right[-1] >= 0.99
    # plateau: before half the transition time the right label is still at most slightly above 1/L..1/N
    early = tr.p_right[tr.t < 0.5 * tr.t_transition]
    assert np.all(early < 1.5 / N)


def test_L_equals_N_stalls_from_the_symmetric_start_but_not_from_a_broken_one():
    tr = integrate_nested_logits(8, 8, 0.0, t_max=1e4)
    assert tr.t_transition is None and np.allclose(tr.params[-1], 0)
    tr = integrate_nested_logits(8, 8, [0.0, 0.5, 0.5], t_max=1e4)
    assert tr.t_transition is not None


@pytest.mark.parametrize("N, L", [(2, 2), (4, 16), (8, 32), (3, 100)])
def test_depth_one_has_the_closed_form_transition_time(N, L):
    """Depth 1: ℒ = −ξ + log(e^ξ + L − 1), so (e^ξ + L − 1) dξ = (L − 1) dt, e^ξ + (L − 1)ξ = (L − 1)t + 1,
    and P(right) = ½ at e^ξ = L − 1: t½ = log(L − 1) + (L − 2)/(L − 1) (independent of N)."""
    t = integrate_nested_logits(N, L, 0.0, t_max=1e3, depth=1, loss_tol=1e-3).t_transition
    if L == 2:
        assert t == pytest.approx(0.0, abs=1e-9) or t is None  # P(right) starts at ½
        return
    assert t == pytest.approx(np.log(L - 1) + (L - 2) / (L - 1), rel=1e-6)


def test_nesting_at_equal_initial_effective_weights():
    """Depth 2 fixes s = σ(β₁) at 1 where depth 3 starts at ½; the loss depends on β₁, α only through αs.
    At equal initial s = ½ (depth 3 with β₁ frozen), learning β₁ shortens the plateau; the plateau itself
    comes from nesting α in ξ (depth 2 ≫ depth 1)."""
    t1, t2, t3 = (integrate_nested_logits(8, 32, 0.0, t_max=1e5, depth=d).t_transition for d in (1, 2, 3))
    frozen = integrate_nested_logits(8, 32, 0.0, t_max=1e5, frozen=("beta1",))
    assert np.all(frozen.param("beta1") == 0.0)
    assert t2 > 2 * t1
    assert t3 < frozen.t_transition
    # depth 3 with β₁ frozen at +∞-like values is depth 2: s = σ(40) = 1 to double precision
    assert integrate_nested_logits(
        8, 32, [40.0, 0.0, 0.0], t_max=1e5, frozen=("beta1",)
    ).t_transition == pytest.approx(t2, rel=1e-6)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"N": 1}, "N must be an integer >= 2"),
        ({"L": 4}, "L must be an integer >= 8"),
        ({"N": True}, "N must be an integer >= 2"),
        ({"level": 1.0}, "level must be a number in"),
        ({"frozen": ("gamma",)}, "frozen must be"),
        ({"depth": 4}, "depth must be 1, 2 or 3"),
        ({"init": [0.0, 0.0]}, "init must be"),
        ({"t_max": -1.0}, "t_max must be"),
    ],
)
def test_bad_arguments(kw, match):
    args = {"N": 8, "L": 32, "init": 0.0, **kw}
    with pytest.raises(ValueError, match=match):
        integrate_nested_logits(**args)


def test_progress_analogues_match_the_model():
    from theory.induction_head import progress_analogues

    N, L = 4, 16
    tr = integrate_nested_logits(N, L, 0.0, 1e4)
    pa = progress_analogues(tr, N, L)
    # at the origin: s = 1/2, p = 1/N, and the classifier spreads evenly: CLA = N/L
    assert pa["ILA1"][0] == pytest.approx(0.5) and pa["TILA2"][0] == pytest.approx(1 / N)
    assert pa["CLA"][0] == pytest.approx(N / L)
    # P(right) = CLA × (the right label's share among the context labels), checked along the path
    b1, a, x = tr.params[-1]
    s = 1 / (1 + np.exp(-b1))
    p = np.exp(a * s) / (np.exp(a * s) + N - 1)
    q = (1 - p) / (N - 1)
    share = np.exp(x * p) / (np.exp(x * p) + (N - 1) * np.exp(x * q))
    assert pa["CLA"][-1] * share == pytest.approx(tr.p_right[-1], rel=1e-9)


# --------------------------------------------------------------------------- transition times of whole grids
def _per_cell(N, L, init, depth=3, t_max=1e5, **kw):
    t = integrate_nested_logits(N, L, init, t_max=t_max, depth=depth, **kw).t_transition
    return np.nan if t is None else t


def test_transition_times_over_initial_conditions_match_the_per_cell_flow():
    """An 8 × 8 grid of (α₀, ξ₀) at β₁ = 0 against one event search per cell. Measured: 2e-12 relative to
    the per-cell flow at rtol 1e-12, 6e-9 to the per-cell flow at its default rtol 1e-8 (its own error)."""
    from theory.induction_head import transition_times

    g = np.linspace(0, 1, 8)
    init = np.stack(np.broadcast_arrays(0.0, g[:, None], g[None, :]), axis=-1)
    T = transition_times(8, 32, init, t_max=1e5)
    assert T.shape == (8, 8)
    ref = np.array(
        [[_per_cell(8, 32, init[i, j], rtol=1e-12, atol=1e-14) for j in range(8)] for i in range(8)]
    )
    np.testing.assert_allclose(T, ref, rtol=1e-6)
    assert np.max(np.abs(T - ref) / ref) < 1e-9
    default = np.array([[_per_cell(8, 32, init[i, j]) for j in range(0, 8, 3)] for i in range(0, 8, 3)])
    np.testing.assert_allclose(T[::3, ::3], default, rtol=1e-6)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_transition_times_over_N_and_L_match_the_per_cell_flow(depth):
    """Broadcasting N (4, 1) against L (1, 3). Measured: 6e-12 relative at every depth (the cell L = N = 8
    is NaN in both: the origin is critical); depth 1 meets its closed form to 4e-12."""
    from theory.induction_head import transition_times

    N = np.array([2, 3, 5, 8])[:, None]
    L = np.array([8, 16, 40])[None, :]
    T = transition_times(N, L, 0.0, depth=depth, t_max=1e6)
    assert T.shape == (4, 3)
    ref = np.array(
        [[_per_cell(n, m, 0.0, depth, 1e6, rtol=1e-12, atol=1e-14) for m in L[0]] for n in N[:, 0]]
    )
    np.testing.assert_allclose(T, ref, rtol=1e-6)
    if depth == 1:  # closed form (test_depth_one_has_the_closed_form_transition_time)
        want = np.log(L - 1.0) + (L - 2.0) / (L - 1.0)
        np.testing.assert_allclose(T, np.broadcast_to(want, T.shape), rtol=1e-9)


def test_transition_times_edge_cells():
    from theory.induction_head import transition_times

    # origin with L = N is critical: never; N = L = 2 starts at P(right) = ½ = level: 0
    T = transition_times([8, 2, 8], [8, 2, 32], 0.0)
    assert np.isnan(T[0]) and T[1] == 0.0 and T[2] == pytest.approx(_per_cell(8, 32, 0.0), rel=1e-6)
    assert np.isnan(transition_times(8, 32, 0.0, t_max=5.0))  # the transition is at t ≈ 24.8
    # from this start the flow settles at P(right) = 1/N: the clock passes t_max and the cell is frozen
    trap = transition_times(8, 8, [[-10.0, 10.0, -5.0], [0.0, 0.5, 0.5]])
    assert np.isnan(trap[0]) and trap[1] == pytest.approx(_per_cell(8, 8, [0.0, 0.5, 0.5]), rel=1e-6)
    one = transition_times(8, 32, [0.0, 0.2, 0.3])  # a single cell runs on floats, not arrays
    assert isinstance(one, float)
    assert one == pytest.approx(transition_times(8, [32, 16], [0.0, 0.2, 0.3])[0], rel=1e-9)


def test_transition_times_fall_back_to_the_per_cell_flow(monkeypatch):
    """If the joint integration fails, the cells are split in halves and, alone, go to the event search."""
    from theory.induction_head import transition, transition_times

    def fail(*args):
        raise RuntimeError("forced")

    g = np.linspace(0.1, 0.9, 5)
    want = transition_times(8, 32, np.stack(np.broadcast_arrays(0.0, g, g[::-1]), axis=-1))
    monkeypatch.setattr(transition, "_joint", fail)
    got = transition_times(8, 32, np.stack(np.broadcast_arrays(0.0, g, g[::-1]), axis=-1))
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"N": 1}, "N must be an integer >= 2"),
        ({"N": True}, "N must be an integer >= 2"),
        ({"N": [2, 2.5]}, "N must be an integer >= 2"),
        ({"N": np.array([True, False])}, "N must be an integer >= 2"),
        ({"L": [32, 4]}, "L must be an integer >= N"),
        ({"L": "32"}, "L must be an integer"),
        ({"level": 1.0}, "level must be a number in"),
        ({"level": True}, "level must be a number in"),
        ({"depth": 4}, "depth must be 1, 2 or 3"),
        ({"depth": True}, "depth must be 1, 2 or 3"),
        ({"init": [0.0, 0.0]}, "init must be"),
        ({"init": True}, "init must be"),
        ({"init": [0.0, np.nan, 0.0]}, "init must be"),
        ({"t_max": -1.0}, "t_max must be"),
        ({"N": [2, 3, 4], "L": [8, 8]}, "must broadcast"),
    ],
)
def test_transition_times_bad_arguments(kw, match):
    from theory.induction_head import transition_times

    args = {"N": 8, "L": 32, "init": 0.0, **kw}
    with pytest.raises(ValueError, match=match):
        transition_times(**args)
