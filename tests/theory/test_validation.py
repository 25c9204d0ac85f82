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
    eigenvalues exactly, so the boundary is hand-built, at a largest entry of 1 and of 100 (where the
    boundary is −1e-8, so an absolute −1e-10 would refuse −5e-9): −1e-10 × scale passes, −2e-10 × scale
    does not; 0 passes."""
    for scale in (1.0, 100.0):
        ok = np.diag([scale, -1e-10 * scale])
        np.testing.assert_array_equal(as_psd(ok, "W", 2), ok)
        with pytest.raises(ValueError, match="W must be positive semidefinite"):
            as_psd(np.diag([scale, -2e-10 * scale]), "W", 2)
    np.testing.assert_array_equal(as_psd(np.diag([100.0, -5e-9]), "W", 2), np.diag([100.0, -5e-9]))
    np.testing.assert_array_equal(as_psd(np.zeros((2, 2)), "W", 2), np.zeros((2, 2)))
