"""The covariance builders of theory/linear_attention/covariances.py."""

import numpy as np
import pytest

from theory.linear_attention.covariances import geometric_spectrum, toeplitz


@pytest.mark.parametrize("d, kappa", [(2, 4.0), (5, 100.0)])
def test_geometric_spectrum_has_condition_number_kappa_and_unit_determinant(d, kappa):
    """Eigenvalues κ^{-1/2} … κ^{1/2} in geometric steps: ratio of extremes κ, product 1."""
    lam = np.diag(geometric_spectrum(d, kappa))
    assert lam[0] == pytest.approx(kappa**-0.5) and lam[-1] == pytest.approx(kappa**0.5)
    assert np.prod(lam) == pytest.approx(1.0)
    np.testing.assert_allclose(lam[1:] / lam[:-1], kappa ** (1 / (d - 1)))


def test_toeplitz_is_rho_to_the_distance_and_needs_rho_inside_minus_one_one():
    """Λ_ij = ρ^|i − j|, positive definite for −1 < ρ < 1; ρ = ±1 (singular) is refused."""
    lam = toeplitz(3, -0.5)
    np.testing.assert_allclose(lam, [[1, -0.5, 0.25], [-0.5, 1, -0.5], [0.25, -0.5, 1]], rtol=1e-15)
    assert np.all(np.linalg.eigvalsh(toeplitz(4, 0.99)) > 0)
    for rho in (-1.0, 1.0):
        with pytest.raises(ValueError, match=r"rho must be a number in \(-1, 1\)"):
            toeplitz(3, rho)
