import numpy as np
import pytest
from scipy.special import ndtr

from simulations.seeding import standard_normal


class FixedUniforms:
    """Stands in for a Generator: ``random`` returns the given uniforms (the only draw Box–Muller makes)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=np.float32)

    def random(self, shape, dtype):
        assert shape == self.u.shape and dtype == np.float32
        return self.u.copy()


F32_ATOL = 1e-5
"""float32 rounding: log, sqrt, cos/sin and the angle 2πU each round at 6e-8 relative; the angle's
rounding moves cos/sin by up to 2π·6e-8 absolute. Times a radius ≤ 5.77 that is < 1e-5 absolute."""


def box_muller(u, n):
    """The first n of √(−2 ln(1 − U₁)) cos 2πU₂, then the sines, in float64 from the (2, h) uniforms u."""
    u = np.asarray(u, dtype=np.float64)
    r = np.sqrt(-2 * np.log1p(-u[0]))
    return np.concatenate([r * np.cos(2 * np.pi * u[1]), r * np.sin(2 * np.pi * u[1])])[:n]


def test_float64_is_numpys_ziggurat():
    z = standard_normal(np.random.default_rng(3), (4, 5))
    assert z.dtype == np.float64
    np.testing.assert_array_equal(z, np.random.default_rng(3).standard_normal((4, 5)))


def test_float32_box_muller_written_out():
    """n = 5 normals from 2 × 3 uniforms: z_i = √(−2 ln(1 − U₁ᵢ)) cos(2πU₂ᵢ) for i < 3, then the sines,
    the last one dropped; U₁ = 0 gives 0, U₁ = 1 − 2⁻²⁴ (the largest uniform) gives the largest radius
    √(48 ln 2)."""
    top = 1 - 2.0**-24
    u = np.array([[0.0, top, 0.5], [0.25, 0.5, 0.125]])
    z = standard_normal(FixedUniforms(u), (5,), np.float32)
    assert z.dtype == np.float32 and z.shape == (5,)
    np.testing.assert_allclose(z, box_muller(u, 5), rtol=0, atol=F32_ATOL)
    assert z[1] == pytest.approx(-np.sqrt(48 * np.log(2)), rel=1e-6)  # θ = π: the cosine is −1


@pytest.mark.parametrize("shape, half", [((3, 5), 8), ((2, 3), 3)])
def test_float32_shape_and_the_generators_uniforms(shape, half):
    """A (3, 5) draw (odd size) uses the generator's next (2, 8) float32 uniforms, in that order, and drops
    the last sine; a (2, 3) draw uses exactly (2, 3)."""
    z = standard_normal(np.random.default_rng(11), shape, np.float32)
    u = np.random.default_rng(11).random((2, half), dtype=np.float32)
    assert z.shape == shape and z.dtype == np.float32
    np.testing.assert_allclose(z.ravel(), box_muller(u, np.prod(shape)), rtol=0, atol=F32_ATOL)


def test_float32_law_is_standard_normal():
    """Kolmogorov–Smirnov distance to Φ over 2·10⁶ draws below its 0.1% critical value 1.95/√n (the 2⁻²⁴
    grid and the tail cut move the CDF by < 1e-7); the moments E z = 0, E z² = 1, E z⁴ = 3 within 5 s.e.;
    the cosine and sine halves (one radius, one angle) uncorrelated, squares included, within 5 s.e."""
    n = 2_000_000
    z = standard_normal(np.random.default_rng(0), (n,), np.float32).astype(np.float64)
    s = np.sort(z)
    cdf = ndtr(s)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.95 / np.sqrt(n)
    for power, mean, var in ((1, 0.0, 1.0), (2, 1.0, 2.0), (4, 3.0, 96.0)):
        assert np.mean(z**power) == pytest.approx(mean, abs=5 * np.sqrt(var / n))
    a, b = z[: n // 2], z[n // 2 :]
    se = 1 / np.sqrt(n // 2)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 * se
    assert abs(np.corrcoef(a**2, b**2)[0, 1]) < 5 * se


def test_batch_and_named_streams_are_disjoint_families_of_the_seed():
    """Batches are SeedSequence(seed, spawn_key=(0, step)) and named streams (1, crc32(name)): the first
    key (0 or 1) sets the two families apart, and saved runs replay from these keys (checked on one key of
    each family)."""
    import zlib

    from simulations.seeding import batch_rng, stream_rng

    b = batch_rng(3, 7).bit_generator.seed_seq
    s = stream_rng(3, "test-ic").bit_generator.seed_seq
    assert (b.entropy, b.spawn_key) == (3, (0, 7))
    assert (s.entropy, s.spawn_key) == (3, (1, zlib.crc32(b"test-ic")))


def test_shapes_and_dtypes_outside_the_rule_are_refused_by_name():
    """A size may be 0 (an empty draw) but not negative or fractional; only float32 and float64."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        assert standard_normal(rng, (0, 3), dtype).shape == (0, 3)
        assert standard_normal(rng, 4, dtype).shape == (4,) and standard_normal(rng, (), dtype).shape == ()
        for shape in ((-1,), (2.5,), "ab"):
            with pytest.raises(ValueError, match="shape must be a size or a tuple of sizes >= 0"):
                standard_normal(rng, shape, dtype)
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got 'float16'"):
        standard_normal(rng, 3, "float16")
