"""Input validation shared by the theory (theory/validation.py)."""

import numpy as np
import pytest

from theory.validation import as_psd


def test_psd_tolerance_is_inclusive_at_minus_1e_10_of_the_largest_entry():
    """as_psd's rule: eigenvalues >= −1e-10 × the largest |entry|. A diagonal matrix has its entries as
    eigenvalues exactly, so the boundary is hand-built: −1e-10 passes, −2e-10 does not; 0 passes."""
    np.testing.assert_array_equal(as_psd(np.diag([1.0, -1e-10]), "W", 2), np.diag([1.0, -1e-10]))
    np.testing.assert_array_equal(as_psd(np.zeros((2, 2)), "W", 2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="W must be positive semidefinite"):
        as_psd(np.diag([1.0, -2e-10]), "W", 2)
