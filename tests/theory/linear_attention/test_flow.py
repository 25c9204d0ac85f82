"""The reduced flow against reference problems with exact solutions, and its invariants."""

import warnings

import numpy as np
import pytest

from tests.systems.lsa_flows import CASES, isotropic_exact_V
from theory.linear_attention import (
    ConvergenceConditionWarning,
    RandomDiagonalCovariance,
    global_minimizer,
    integrate_flow,
    pl_rate,
)

RTOL = 1e-10


@pytest.mark.parametrize("path", ["eigen", "dense"])
@pytest.mark.parametrize("d, lam, N, sigma", CASES)
def test_flow_matches_exact_logistic_solution(path, d, lam, N, sigma):
    """Error measured in units of the solver tolerance (as scipy's own ivp tests do)."""
    cov = lam * np.eye(d)
    t_end = 10.0 / lam**2
    grid = np.linspace(0, t_end, 40)
    res = integrate_flow(cov, N, sigma, t_max=t_end, gap_tol=None, path=path, t_eval=grid, rtol=RTOL)
    exact = isotropic_exact_V(d, lam, N, sigma, grid)
    V_diag = np.einsum("tii->ti", res.V)
    err = np.max(np.abs(V_diag - exact[:, None]) / np.abs(exact[:, None]))
    assert err < 1000 * RTOL  # global error of a tolerance-controlled solver: a few hundred × rtol at most
    assert res.nfev < 20_000


def test_converges_to_gamma_inverse_and_conserves_invariant():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    lam = A @ A.T / 6 + 0.3 * np.eye(6)
    th = rng.standard_normal((6, 4))
    th /= np.sqrt(np.linalg.norm(th @ th.T))
    res = integrate_flow(lam, 12, 0.3, theta=th, t_max=1e6, gap_tol=1e-10)
    assert res.t_converged is not None and res.gap[-1] <= 1e-10 * (1 + 1e-6)
    assert res.conserved_drift < 1e-8
    # gap 1e-10 bounds ‖Δ(u·U)‖ by √(2 gap / λ_min(ΓΛ⊗Λ))
    tol = np.sqrt(2e-10 / (np.min(np.linalg.eigvalsh(lam)) ** 3))
    assert np.max(np.abs(res.V[-1] - global_minimizer(lam, 12))) < tol


def test_eigen_and_dense_paths_agree_along_the_trajectory():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 5))
    lam = A @ A.T / 5 + 0.5 * np.eye(5)
    th = rng.standard_normal((5, 5))
    th /= np.sqrt(np.linalg.norm(th @ th.T))  # not commuting with Λ: off-diagonal modes are exercised
    grid = np.linspace(0, 20, 30)
    a = integrate_flow(lam, 8, 0.4, theta=th, t_max=20, gap_tol=None, t_eval=grid)
    b = integrate_flow(lam, 8, 0.4, theta=th, t_max=20, gap_tol=None, t_eval=grid, path="dense")
    np.testing.assert_allclose(a.V, b.V, rtol=0, atol=1e-7)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-7)


def test_pl_bound_holds_along_trajectories():
    rng = np.random.default_rng(2)
    for _ in range(10):
        d = int(rng.integers(1, 6))
        A = rng.standard_normal((d, d))
        lam = A @ A.T / d + 0.2 * np.eye(d)
        N = int(rng.integers(1, 40))
        from theory.linear_attention import paper_sigma

        sigma = paper_sigma(lam, N, rng.uniform(0.2, 1.8))
        res = integrate_flow(lam, N, sigma, t_max=1e6, gap_tol=1e-12)
        mu = pl_rate(lam, N, sigma)
        assert mu > 0
        assert np.all(res.gap <= np.exp(-mu * res.t) * res.gap[0] * (1 + 1e-6))


def test_pl_rate_takes_theta_as_the_flow_does():
    """μ ∝ ‖ΛΘ‖_F²: a rotated Θ with ‖ΘΘᵀ‖_F = 1 gives ‖ΛΘ‖_F² = tr(Λ² ΘΘᵀ), written out here."""
    lam = np.diag([1.0, 3.0])
    c, s = np.cos(0.4), np.sin(0.4)
    theta = np.array([[c, -s], [s, c]]) @ np.diag(np.sqrt([0.9, np.sqrt(1 - 0.81)]))  # ‖ΘΘᵀ‖_F = 1
    ratio = pl_rate(lam, 5, 0.3, theta=theta) / pl_rate(lam, 5, 0.3)
    assert ratio == pytest.approx(np.trace(lam @ lam @ theta @ theta.T) / (np.trace(lam @ lam) / np.sqrt(2)))
    with pytest.raises(ValueError, match="theta must satisfy"):
        pl_rate(lam, 5, 0.3, theta=np.eye(2))


def test_random_flow_with_degenerate_law_equals_fixed_flow():
    """A 'random' covariance that is always diag(λ) must give the fixed-Λ flow."""
    lam = np.array([0.5, 1.0, 2.0])
    law = RandomDiagonalCovariance.from_samples(np.tile(lam, (10, 1)))
    grid = np.linspace(0, 30, 20)
    a = integrate_flow(law, 6, 0.4, t_max=30, gap_tol=None, t_eval=grid)
    b = integrate_flow(np.diag(lam), 6, 0.4, t_max=30, gap_tol=None, t_eval=grid)
    np.testing.assert_allclose(a.V, b.V, atol=1e-8)
    np.testing.assert_allclose(law.minimizer(6), global_minimizer(np.diag(lam), 6), atol=1e-14)


def test_exponential_law_moments_and_one_third_limit():
    law = RandomDiagonalCovariance.exponential(4)
    rng = np.random.default_rng(3)
    sampled = RandomDiagonalCovariance.from_samples(rng.exponential(size=(400_000, 4)))
    np.testing.assert_allclose(sampled.P, law.P, rtol=0.03)  # E λ³ has relative s.e. ≈ 4.4/√n ≈ 0.007
    np.testing.assert_allclose(sampled.T, law.T, rtol=0.03)
    np.testing.assert_allclose(np.diag(law.minimizer(10**9)), 1 / 3, rtol=1e-8)
    np.testing.assert_allclose(np.diag(law.limit_coefficient()), 1 / 3, rtol=1e-15)


def test_warns_when_convergence_condition_violated():
    with pytest.warns(ConvergenceConditionWarning, match="sigma"):
        integrate_flow(np.eye(3), 5, 2.0, t_max=1.0, gap_tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrate_flow(np.eye(3), 5, 0.3, t_max=1.0, gap_tol=None)
        integrate_flow(np.eye(3), 5, 2.0, t_max=1.0, gap_tol=None, warn=False)  # silenced on request


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"sigma": 0.0}, "sigma must be"),
        ({"sigma": -1.0}, "sigma must be"),
        ({"N": 0}, "N must be"),
        ({"theta": np.eye(3)}, "theta must satisfy"),
        ({"theta": np.eye(2)}, "theta must be a"),
        ({"path": "fast"}, "path must be"),
    ],
)
def test_bad_arguments(kw, match):
    args = {"cov": np.eye(3), "N": 5, "sigma": 0.3, **kw}
    with pytest.raises(ValueError, match=match):
        integrate_flow(**args, t_max=1.0)


# --------------------------------------------------------------------------- lazy results, large d
def _rotated(d, kappa, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    lam = (Q * np.geomspace(kappa**-0.5, kappa**0.5, d)) @ Q.T
    return 0.5 * (lam + lam.T)


def _unit_theta(d, k, seed):
    th = np.random.default_rng(seed).standard_normal((d, k))
    return th / np.sqrt(np.linalg.norm(th @ th.T))


def test_values_at_requested_times_match_the_dense_reference():
    """u·U, U, u and the gap between the steps of the eigen path against the dense path at rtol 1e-13.
    Measured: 1.2, 1.2, 0.8 and 1.2 × rtol (gap in units of rtol × gap(0)); bound 20 × rtol."""
    lam, th = _rotated(5, 4.0, 1), _unit_theta(5, 5, 2)  # Θ not commuting with Λ: off-diagonal modes
    res = integrate_flow(lam, 8, 0.4, theta=th, t_max=1e6, gap_tol=1e-10)
    grid = np.geomspace(1e-3, res.t[-1], 25)
    grid[-1] = res.t[-1]
    assert not np.any(np.isin(grid[:-1], res.t))  # between steps: the re-integration is exercised
    ref = integrate_flow(
        lam,
        8,
        0.4,
        theta=th,
        t_max=res.t[-1],
        gap_tol=None,
        t_eval=grid,
        path="dense",
        rtol=1e-13,
        atol=1e-16,
    )
    assert np.max(np.abs(res.V_at(grid) - ref.V)) < 20 * RTOL * np.max(np.abs(ref.V))
    assert np.max(np.abs(res.U_at(grid) - ref.U)) < 20 * RTOL * np.max(np.abs(ref.U))
    assert np.max(np.abs(res.u_at(grid) - ref.u)) < 20 * RTOL * np.max(ref.u)
    assert np.max(np.abs(res.gap_at(grid) - ref.gap)) < 20 * RTOL * ref.gap[0]
    np.testing.assert_allclose(res.loss_at(grid), res.min_loss + res.gap_at(grid), rtol=1e-15)


def test_stored_times_are_exact_and_shapes_follow_the_request():
    lam = _rotated(4, 4.0, 3)
    res = integrate_flow(lam, 10, 0.3, t_max=1e6, n_points=30)
    assert len(res.t_U) <= 30 and res.t_U[0] == 0 and res.t_U[-1] == res.t[-1]
    k = np.searchsorted(res.t, res.t_U)
    np.testing.assert_array_equal(res.state_at(res.t_U), res.states[k])
    np.testing.assert_array_equal(res.V_at(res.t_U), res.V)
    np.testing.assert_array_equal(res.U_at(res.t_U), res.U)
    assert res.U_at(res.t[3]).shape == (4, 4) and res.V_at([0.1, 0.2]).shape == (2, 4, 4)
    assert isinstance(res.u_at(0.5), float) and res.u_at([0.5]).shape == (1,)
    assert isinstance(res.gap_at(0.5), float) and res.V_modes_at([0.5, 1.0]).shape == (2, 4)
    # u·Ũ_ii are the eigen-coordinates of u·U: Qᵀ V Q has them on its diagonal
    Q = res.eigenvectors
    np.testing.assert_allclose(np.diag(Q.T @ res.V_at(0.7) @ Q), res.V_modes_at(0.7), atol=1e-14)
    for bad in (-1.0, res.t[-1] * 1.01, np.nan, [[0.1]]):
        with pytest.raises(ValueError, match="t must"):
            res.state_at(bad)


# u·U, gap and u of the previous implementation (git 4912bdb, its t_eval output at the default rtol 1e-10)
# for Λ and Θ below, N = 8, σ = 0.4, at t = 0.5, 3 and 12.
_OLD_LAM = np.array(
    [
        [1.1646097299906526, 0.19311073379834007, 0.13864895313591313, -0.10103001255834533],
        [0.19311073379834007, 1.6099866896709407, -0.02400107339169383, 0.5027573341365065],
        [0.13864895313591313, -0.02400107339169383, 0.8541668922944816, -0.4062658594902323],
        [-0.10103001255834533, 0.5027573341365065, -0.4062658594902323, 1.1712366880439244],
    ]
)
_OLD_THETA = np.array(
    [
        [0.27213470956451785, -0.06684597122912438, -0.0504278231252605],
        [0.22631816952761358, -0.28726017210171145, -0.4998296585766919],
        [0.13036568948066155, -0.22132351936036374, -0.6338177741269847],
        [-0.26868238059273225, -0.15433285402064895, -0.39382229497239196],
    ]
)
_OLD_V = np.array(
    [
        [
            [0.2411694724283846, 0.04494959426825957, 0.04259407655628657, -0.04503301280204772],
            [0.04975228834691417, 0.2992234966430467, 0.07674703240913874, 0.10193298143091256],
            [0.04840531192945739, 0.0996870295206442, 0.2729925615263636, -0.02678746389633669],
            [-0.04303954662418284, 0.1079704504823203, -0.03789938161051103, 0.2518708083217876],
        ],
        [
            [0.537034485365658, -0.05046123457000597, -0.05590324038883617, 0.02410980214269981],
            [-0.05046769970080385, 0.42108032766216613, 0.03709401281311486, -0.07891006430587713],
            [-0.05607743234628094, 0.04869915973661701, 0.5533450380243593, 0.02506858227371523],
            [0.02369712859579633, -0.07057356494955809, 0.03055804581011648, 0.4669542758237639],
        ],
        [
            [0.5361702713776568, -0.05785306651442516, -0.04357371253928202, 0.03842927046488175],
            [-0.05783238054844835, 0.45293069328740804, -0.02707167940304825, -0.14275834975620527],
            [-0.04363159913684327, -0.02701908374735396, 0.6914285485913154, 0.16818356731605244],
            [0.03837949379894495, -0.1427361917548674, 0.16824812243900328, 0.604272355939488],
        ],
    ]
)
_OLD_GAP = np.array([2.3436678064102812e-01, 1.5163233398253784e-02, 6.9003987615751685e-06])
_OLD_U = np.array([0.7626076777654498, 1.0047103512255575, 1.0969817109934064])


@pytest.mark.parametrize("path", ["eigen", "dense"])
def test_same_numbers_as_the_previous_implementation(path):
    """Both paths, asked between their steps, against the old code's values. Measured (eigen, dense):
    u·U 0.7, 1.9; gap 0.5, 0.13 (× rtol × gap(0)); u 0.4, 0.7 × rtol. Bound 20 × rtol."""
    times = np.array([0.5, 3.0, 12.0])
    res = integrate_flow(_OLD_LAM, 8, 0.4, theta=_OLD_THETA, t_max=12.0, gap_tol=None, path=path)
    assert np.max(np.abs(res.V_at(times) - _OLD_V)) < 20 * RTOL * np.max(np.abs(_OLD_V))
    assert np.max(np.abs(res.gap_at(times) - _OLD_GAP)) < 20 * RTOL * _OLD_GAP[0]
    assert np.max(np.abs(res.u_at(times) - _OLD_U)) < 20 * RTOL * np.max(_OLD_U)


@pytest.mark.parametrize("d, lam, N", [(3_000, 1.3, 40), (2_000, 0.7, 10)])
def test_large_d_matches_exact_logistic_solution(d, lam, N):
    """Λ = λI, diagonal: read off its diagonal (no eigh); DOP853 is chosen (one time scale), and every mode
    follows the closed form. Measured: 0.03 × rtol at both d (and at d = 10⁴)."""
    res = integrate_flow(lam * np.eye(d), N, t_max=1e6, gap_tol=1e-10)
    assert res.method == "DOP853" and res.states.shape[1] == d + 2 and res.eigenvectors is None
    assert res.nfev < 2_000  # measured 701–845 for d = 2000 … 10⁴
    grid = np.linspace(0, res.t[-1], 40)
    exact = isotropic_exact_V(d, lam, N, res.sigma, grid)
    err = np.max(np.abs(res.V_modes_at(grid) - exact[:, None]) / exact[:, None])
    assert err < 20 * RTOL
    assert res.gap[-1] <= 1e-10 * (1 + 1e-6) and len(repr(res)) < 200 and "array" not in repr(res)


def test_stiff_flow_with_sparse_bdf_matches_lsoda():
    """κ = 100: BDF with the sparse arrow Jacobian agrees with LSODA and its dense (d+2)² Jacobian at d = 40.
    Measured 2 × rtol; bound 100 × rtol. Above d = 200 the default is BDF for such a spectrum (the predicted
    explicit steps exceed the budget) and DOP853 for κ = 4."""
    from theory.linear_attention.flow import _EXPLICIT_MAX_STEPS, _eigen_modes, _explicit_steps, _Problem

    spec = np.diag(np.geomspace(0.1, 10, 40))
    bdf = integrate_flow(spec, 20, t_max=1e6, gap_tol=1e-10, method="BDF")
    ref = integrate_flow(spec, 20, t_max=1e6, gap_tol=1e-10, method="LSODA")
    assert bdf.njev > 0 and ref.njev > 0  # both went implicit
    grid = np.geomspace(1e-2, min(bdf.t[-1], ref.t[-1]), 12)
    a, b = bdf.V_modes_at(grid), ref.V_modes_at(grid)
    assert np.max(np.abs(a - b)) < 100 * RTOL * np.max(np.abs(b))
    assert bdf.t_converged == pytest.approx(ref.t_converged, rel=1e-6)
    for kappa, stiff in ((100.0, True), (4.0, False)):
        prob = _Problem(np.diag(np.geomspace(kappa**-0.5, kappa**0.5, 210)), 20)
        sigma = 1 / np.sqrt(prob.gamma_op(prob.evals) * np.sqrt(210))
        steps = _explicit_steps(_eigen_modes(prob, sigma, None), sigma, 1e6, 1e-10)
        assert (steps > _EXPLICIT_MAX_STEPS) == stiff


def test_sparse_and_dense_arrow_jacobians_equal_finite_differences():
    from theory.linear_attention.flow import _eigen_modes, _Problem

    lam, th = _rotated(6, 10.0, 4), _unit_theta(6, 3, 5)
    prob = _Problem(lam, 7)
    model = _eigen_modes(prob, 0.5, th)
    assert model.n_off > 0  # off-diagonal modes present: the u-row also has its τ entry
    y = model.initial_state(0.5) + np.random.default_rng(6).normal(scale=0.05, size=8)
    J = model.jac_dense(0.0, y)
    np.testing.assert_array_equal(model.jac_sparse(0.0, y).toarray(), J)
    h = 1e-6
    num = np.stack([(model.rhs(0, y + h * e) - model.rhs(0, y - h * e)) / (2 * h) for e in np.eye(8)], axis=1)
    np.testing.assert_allclose(J, num, rtol=1e-6, atol=1e-8)


def test_diagonal_and_rotated_inputs_agree():
    """A diagonal Λ skips eigh (eigenvectors None) and gives the rotated Λ's flow in the rotated frame."""
    spec = np.array([0.5, 0.8, 1.3, 2.0, 3.1])
    Q, _ = np.linalg.qr(np.random.default_rng(7).standard_normal((5, 5)))
    rotated = 0.5 * ((Q * spec) @ Q.T + ((Q * spec) @ Q.T).T)
    diag, rot = (integrate_flow(c, 9, 0.3, t_max=1e6) for c in (np.diag(spec), rotated))
    assert diag.eigenvectors is None and rot.eigenvectors is not None
    assert rot.t_converged == pytest.approx(diag.t_converged, rel=1e-7)
    T = diag.t[-1] / 3
    np.testing.assert_allclose(Q.T @ rot.V_at(T) @ Q, diag.V_at(T), atol=1e-8)
    np.testing.assert_allclose(rot.minimizer, global_minimizer(rotated, 9), atol=1e-12)
    np.testing.assert_allclose(diag.minimizer, global_minimizer(np.diag(spec), 9), atol=1e-14)
    for bad, match in (([1.0, 2.0], "cov must be a square"), (np.diag([1.0, 0.0]), "positive definite")):
        with pytest.raises(ValueError, match=match):
            integrate_flow(bad, 5)


def test_random_law_at_larger_d_follows_lsoda():
    """The random-covariance flow (docs/linear_attention.md §4) above the LSODA size. Measured 4 × rtol."""
    law = RandomDiagonalCovariance.exponential(250)
    auto = integrate_flow(law, 10, t_max=1e6, gap_tol=1e-10)
    ref = integrate_flow(law, 10, t_max=1e6, gap_tol=1e-10, method="LSODA")
    assert auto.method != "LSODA"
    grid = np.linspace(0, min(auto.t[-1], ref.t[-1]), 20)
    assert np.max(np.abs(auto.V_modes_at(grid) - ref.V_modes_at(grid))) < 100 * RTOL * np.max(
        np.abs(ref.V_modes_at(grid))
    )
    np.testing.assert_allclose(np.diag(auto.minimizer), np.diag(law.minimizer(10)), rtol=1e-15)
