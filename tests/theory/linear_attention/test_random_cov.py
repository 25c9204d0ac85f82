"""Moments of a random diagonal covariance (docs/linear_attention.md §6)."""

import itertools

import numpy as np
import pytest

from theory.linear_attention.random_cov import RandomDiagonalCovariance


def test_iid_moments_against_a_two_point_law_enumerated():
    """λ_i iid, 1 or 3 with probability ½: P_ij = E[λ_i² λ_j] and T_ij = E[λ_i λ_j Σ_k λ_k] averaged over
    the 2⁴ equally likely diagonals written out; raw moments m1 = 2, m2 = 5, m3 = 14."""
    d = 4
    lams = np.array(list(itertools.product([1.0, 3.0], repeat=d)))
    P = np.mean([np.outer(lam**2, lam) for lam in lams], axis=0)
    T = np.mean([np.outer(lam, lam) * lam.sum() for lam in lams], axis=0)
    law = RandomDiagonalCovariance.iid(d, 2.0, 5.0, 14.0)
    np.testing.assert_allclose(law.P, P, rtol=1e-14)
    np.testing.assert_allclose(law.T, T, rtol=1e-14)
    np.testing.assert_allclose([law.m1, law.m2, law.m3], [[2.0] * d, [5.0] * d, [14.0] * d])


def test_from_samples_needs_two_samples_of_any_dimension():
    with pytest.raises(ValueError, match=r"n >= 2, got shape \(1, 3\)"):
        RandomDiagonalCovariance.from_samples(np.ones((1, 3)))
    law = RandomDiagonalCovariance.from_samples([[1.0], [3.0]])  # d = 1 is a valid dimension
    assert law.d == 1 and law.P[0, 0] == pytest.approx(14.0) and law.T[0, 0] == pytest.approx(14.0)
