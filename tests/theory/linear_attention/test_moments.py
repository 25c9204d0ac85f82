import numpy as np
import pytest

from theory.linear_attention import (
    gamma,
    global_minimizer,
    limiting_weights,
    loss_gap,
    minimum_loss,
    population_loss,
    population_loss_grad,
)


def spd(rng, d):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.2 * np.eye(d)


def test_gamma_is_second_moment_of_empirical_covariance():
    """E[Λ̂²] = ΓΛ, checked by Monte Carlo (tolerance: 5 standard errors entrywise)."""
    rng = np.random.default_rng(0)
    d, N, n = 3, 4, 100_000
    lam = spd(rng, d)
    X = rng.standard_normal((n, N, d)) @ np.linalg.cholesky(lam).T
    S = np.einsum("bni,bnj->bij", X, X) / N
    S2 = S @ S
    mean, se = S2.mean(0), S2.std(0) / np.sqrt(n)
    assert np.all(np.abs(mean - gamma(lam, N) @ lam) < 5 * se)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    lam, N = spd(rng, 4), 7
    u, U = 0.7, rng.standard_normal((4, 4))
    gu, gU = population_loss_grad(u, U, lam, N)
    h = 1e-6
    num_u = (population_loss(u + h, U, lam, N) - population_loss(u - h, U, lam, N)) / (2 * h)
    assert abs(num_u - gu) < 1e-6 * max(1, abs(gu))
    for i, j in [(0, 0), (1, 3), (3, 2)]:
        E = np.zeros_like(U)
        E[i, j] = h
        num = (population_loss(u, U + E, lam, N) - population_loss(u, U - E, lam, N)) / (2 * h)
        assert abs(num - gU[i, j]) < 1e-6 * max(1, abs(gU[i, j]))


def test_minimiser_zeroes_gradient_and_attains_minimum_loss():
    rng = np.random.default_rng(2)
    lam, N = spd(rng, 5), 3
    w = limiting_weights(lam, N)
    gu, gU = population_loss_grad(w["u"], w["U"], lam, N)
    assert abs(gu) < 1e-12 and np.max(np.abs(gU)) < 1e-12
    assert population_loss(w["u"], w["U"], lam, N) == pytest.approx(minimum_loss(lam, N), abs=1e-12)
    np.testing.assert_allclose(w["u"] * w["U"], global_minimizer(lam, N), atol=1e-14)
    # full weights of docs/linear_attention.md §3: W_KQ = tr(Γ^-2)^(-1/4) [[Γ^-1, 0], [0, 0]], W_PV =
    # tr(Γ^-2)^(1/4) e e^T
    ginv = global_minimizer(lam, N)
    s = np.trace(ginv @ ginv) ** 0.25
    np.testing.assert_allclose(w["W_KQ"][:5, :5], ginv / s, atol=1e-14)
    assert w["W_PV"][5, 5] == pytest.approx(s, rel=1e-14)


def test_loss_gap_is_loss_minus_minimum():
    rng = np.random.default_rng(3)
    lam, N = spd(rng, 3), 9
    u, U = 1.3, rng.standard_normal((3, 3))
    assert loss_gap(u * U, lam, N) == pytest.approx(
        population_loss(u, U, lam, N) - minimum_loss(lam, N), rel=1e-12
    )


def test_isotropic_minimum_loss_closed_form():
    d, N = 6, 11
    assert minimum_loss(np.eye(d), N) == pytest.approx(d / 2 * (d + 1) / (N + d + 1), rel=1e-14)


@pytest.mark.parametrize(
    "cov, N, match",
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), 3, "cov must be symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), 3, "cov must be positive definite"),
        (np.ones(3), 3, "cov must be a square"),
        (np.eye(2), 0, "N must be an integer >= 1"),
        (np.eye(2), 2.5, "N must be an integer >= 1"),
    ],
)
def test_bad_input_names_the_argument(cov, N, match):
    with pytest.raises(ValueError, match=match):
        gamma(cov, N)


def test_wrong_shape_of_U_is_rejected():
    with pytest.raises(ValueError, match="U must have shape"):
        population_loss(1.0, np.eye(3), np.eye(2), 4)


def test_label_fourth_moment_of_fixed_and_random_diagonal_covariances():
    """E[(wᵀΛw)²], w ~ N(0, I): (tr Λ)² + 2 tr Λ² for a fixed Λ (here 49 + 2·21 = 91 for diag(1, 2, 4));
    for iid diagonal entries with raw moments m1, m2 it is 3 d m2 + d(d − 1) m1² (E w⁴ = 3, E w_i²w_j² = 1),
    = d² + 5d for Exp(1) and 6 d s² + d(d − 1) s² for Exp(mean s). Both also against a Monte Carlo mean
    (4 standard errors)."""
    from theory.linear_attention import RandomDiagonalCovariance, label_fourth_moment

    assert label_fourth_moment(np.diag([1.0, 2.0, 4.0])) == pytest.approx(91.0, rel=1e-14)
    assert label_fourth_moment(RandomDiagonalCovariance.exponential(3)) == pytest.approx(24.0, rel=1e-14)
    d, s = 4, 0.5
    law = RandomDiagonalCovariance.exponential(d, s)
    assert label_fourth_moment(law) == pytest.approx(6 * d * s**2 + d * (d - 1) * s**2, rel=1e-14)
    iid = RandomDiagonalCovariance.iid(2, 1.5, 3.0, 7.0)
    assert label_fourth_moment(iid) == pytest.approx(3 * 2 * 3.0 + 2 * 1.5**2, rel=1e-14)
    rng = np.random.default_rng(8)
    lam = rng.exponential(s, size=(400_000, d))
    q = np.sum(lam * rng.standard_normal((400_000, d)) ** 2, axis=1) ** 2
    assert abs(q.mean() - label_fourth_moment(law)) < 4 * q.std() / np.sqrt(len(q))


def test_moments_from_samples_written_out():
    """P_ij = mean λ_i² λ_j, T_ij = mean λ_i λ_j Σ_k λ_k, m_k = mean λ^k over three hand-picked samples
    (loops), C = (1 + 1/N) P + T/N, the minimiser diag(m2_i / C_ii), and the limit coefficient
    diag(m2 m1 / m3) (1/3 for Exp(1): m1 = 1, m2 = 2, m3 = 6)."""
    from theory.linear_attention import RandomDiagonalCovariance

    lam = np.array([[1.0, 2.0], [3.0, 0.5], [2.0, 2.0]])
    law = RandomDiagonalCovariance.from_samples(lam)
    P = np.zeros((2, 2))
    T = np.zeros((2, 2))
    for row in lam:
        for i in range(2):
            for j in range(2):
                P[i, j] += row[i] ** 2 * row[j] / 3
                T[i, j] += row[i] * row[j] * row.sum() / 3
    np.testing.assert_allclose(law.P, P, rtol=1e-14)
    np.testing.assert_allclose(law.T, T, rtol=1e-14)
    for k, m in ((1, law.m1), (2, law.m2), (3, law.m3)):
        np.testing.assert_allclose(m, np.mean(lam**k, axis=0), rtol=1e-14)
    N = 5
    C = (1 + 1 / N) * P + T / N
    np.testing.assert_allclose(law.C(N), C, rtol=1e-14)
    np.testing.assert_allclose(law.minimizer(N), np.diag(law.m2 / np.diag(C)), rtol=1e-14)
    np.testing.assert_allclose(law.limit_coefficient(), np.diag(law.m2 * law.m1 / law.m3), rtol=1e-14)
    np.testing.assert_allclose(RandomDiagonalCovariance.exponential(3).limit_coefficient(), np.eye(3) / 3)


def _reduced_hessian(lam, N, u, U, h=1e-5):
    """Hessian of the reduced loss in the 1 + d² coordinates (u, U) by central differences of its
    gradient (the gradient itself is checked against finite differences of the loss above)."""
    d = U.shape[0]

    def grad(x):
        gu, gU = population_loss_grad(x[0], x[1:].reshape(d, d), lam, N)
        return np.concatenate([[gu], gU.ravel()])

    x0 = np.concatenate([[u], U.ravel()])
    H = np.zeros((x0.size, x0.size))
    for k in range(x0.size):
        e = np.zeros(x0.size)
        e[k] = h
        H[:, k] = (grad(x0 + e) - grad(x0 - e)) / (2 * h)
    return 0.5 * (H + H.T)


def test_tail_rate_is_twice_the_smallest_positive_hessian_eigenvalue():
    """A non-diagonal Λ and a generic deviation from the limit hold every mode, so the asymptotic decay rate
    of the gap is 2λ_min, λ_min the smallest positive eigenvalue of the Hessian of L(u, U) at the limit,
    here from central differences (error ~1e-9 relative; one eigenvalue is 0, the curve of minima).
    A deviation in one off-diagonal entry of U in Λ's eigenbasis (Λ diagonal) holds one mode only, whose
    rate is u*² g_i λ_i λ_j, g_i = (1 + 1/N) λ_i + tr Λ / N (written out here)."""
    from theory.linear_attention.linearisation import tail_rate

    lam, N = np.array([[1.0, 0.3], [0.3, 0.6]]), 5
    w = limiting_weights(lam, N)
    ev = np.linalg.eigvalsh(_reduced_hessian(lam, N, w["u"], w["U"]))
    assert abs(ev[0]) < 1e-6 * ev[-1] and ev[1] > 1e-3 * ev[-1]  # one zero mode
    rng = np.random.default_rng(9)
    U_now = w["U"] + 1e-3 * rng.standard_normal((2, 2))
    got = tail_rate(lam, N, w["u"] + 1e-3, U_now, w["u"], w["U"])
    assert got == pytest.approx(2 * ev[1], rel=1e-6)
    diag = np.diag([0.5, 2.0])
    wd = limiting_weights(diag, N)
    U_off = wd["U"].copy()
    U_off[0, 1] += 1e-3
    g0 = (1 + 1 / N) * 0.5 + 2.5 / N
    assert tail_rate(diag, N, wd["u"], U_off, wd["u"], wd["U"]) == pytest.approx(
        2 * wd["u"] ** 2 * g0 * 0.5 * 2.0, rel=1e-10
    )


def test_tail_rate_at_the_limit_raises():
    from theory.linear_attention.linearisation import tail_rate

    w = limiting_weights(np.diag([0.5, 2.0]), 5)
    with pytest.raises(ValueError, match="at the limit already"):
        tail_rate(np.diag([0.5, 2.0]), 5, w["u"], w["U"], w["u"], w["U"])


def test_linearised_gap_follows_the_integrated_flow_near_its_limit():
    """From a deviation of size 1e-3 from the limit (every mode held, the curve-of-minima direction too),
    the reduced gradient flow dθ/dt = −∇L is integrated here (solve_ivp, rtol 1e-11) and its exact loss gap
    compared with ½ Σ_k λ_k a_k² e^{−2λ_k τ} at τ = 0 … 6: the neglected terms are O(deviation) relative,
    so 1e-2 relative is a loose bound (a wrong rate, amplitude or exponent is off by O(1))."""
    from scipy.integrate import solve_ivp

    from theory.linear_attention.linearisation import linearised_gap

    lam, N = np.array([[1.0, 0.3], [0.3, 0.6]]), 5
    w = limiting_weights(lam, N)
    rng = np.random.default_rng(10)
    u0, U0 = w["u"] + 1e-3, w["U"] + 1e-3 * rng.standard_normal((2, 2))

    def rhs(t, x):
        gu, gU = population_loss_grad(x[0], x[1:].reshape(2, 2), lam, N)
        return -np.concatenate([[gu], gU.ravel()])

    tau = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 6.0])
    sol = solve_ivp(rhs, (0, tau[-1]), np.concatenate([[u0], U0.ravel()]), t_eval=tau, rtol=1e-11, atol=1e-15)
    exact = np.array([loss_gap(x[0] * x[1:].reshape(2, 2), lam, N) for x in sol.y.T])
    assert exact[-1] < 0.2 * exact[0]  # the gap decays over the window
    lin = linearised_gap(lam, N, u0, U0, w["u"], w["U"], tau)
    np.testing.assert_allclose(lin, exact, rtol=1e-2)


def test_one_dimensional_covariances_are_valid():
    """d = 1: Γ = (1 + 1/N) λ + λ/N for Λ = [[λ]] (λ = 2, N = 4: 3), Γ⁻¹ = 1/3."""
    assert gamma([[2.0]], 4) == pytest.approx(np.array([[3.0]]), rel=1e-15)
    assert global_minimizer([[2.0]], 4) == pytest.approx(np.array([[1 / 3]]), rel=1e-15)


def test_gamma_eigenvalues_are_the_spectrum_of_gamma():
    """Γ = (1 + 1/N)Λ + (tr Λ/N) I written out here for a rotated Λ; its spectrum against the helper's."""
    from theory.linear_attention import gamma_eigenvalues

    rng = np.random.default_rng(5)
    evals = rng.uniform(0.2, 3.0, size=4)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = Q @ np.diag(evals) @ Q.T
    N = 7
    G = (1 + 1 / N) * lam + np.trace(lam) / N * np.eye(4)
    np.testing.assert_allclose(np.sort(gamma_eigenvalues(evals, N)), np.linalg.eigvalsh(G), rtol=1e-12)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_the_linearised_flow_has_one_zero_mode_at_every_scale(scale):
    """At a minimum u v_i = 1/g_i (Λ = scale · diag(0.5, 1, 2), N = 10) the Hessian has exactly one zero
    eigenvalue, along the curve of minima (linearisation.py's docstring). Its numerical value (≈ 1e-16 of
    the largest rate) is set to 0 relative to the largest rate, so it stays the only zero whether the rates
    are of order 1e-3 (the smallest positive one 7.6e-10) or 1e10."""
    from theory.linear_attention.linearisation import _modes
    from theory.linear_attention.moments import gamma_eigenvalues

    ev = scale * np.array([0.5, 1.0, 2.0])
    g = gamma_eigenvalues(ev, 10)
    u, U = 1.3, np.diag(1 / (g * 1.3))
    rates, _ = _modes(np.diag(ev), 10, u, U, u, U)
    assert np.count_nonzero(rates == 0) == 1 and np.all(rates >= 0)
