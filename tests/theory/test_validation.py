"""Input validation shared by the theory (theory/validation.py)."""

import numpy as np
import pytest

from theory.validation import as_psd


def test_open_unit_refuses_both_end_points():
    """as_open_unit (a level, a gap fraction): 0 and 1 are outside (0, 1), so refused by name."""
    from theory.validation import as_open_unit

    assert as_open_unit(0.5, "level") == 0.5 and as_open_unit(1e-300, "level") == 1e-300
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"level must be a number in \(0, 1\)"):
            as_open_unit(bad, "level")


def test_psd_tolerance_is_inclusive_at_minus_1e_10_of_the_largest_entry():
    """as_psd's rule: eigenvalues >= −1e-10 × the largest |entry|. A diagonal matrix has its entries as
    eigenvalues exactly, so the boundary is hand-built: −1e-10 passes, −2e-10 does not; 0 passes."""
    np.testing.assert_array_equal(as_psd(np.diag([1.0, -1e-10]), "W", 2), np.diag([1.0, -1e-10]))
    np.testing.assert_array_equal(as_psd(np.zeros((2, 2)), "W", 2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="W must be positive semidefinite"):
        as_psd(np.diag([1.0, -2e-10]), "W", 2)
