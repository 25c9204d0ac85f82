"""Random streams derived from one seed: a batch is a function of (seed, step) only."""

from __future__ import annotations

import zlib

import numpy as np


def batch_rng(seed: int, step: int) -> np.random.Generator:
    """Generator for the training batch at ``step`` of the run with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0, int(step))))


def stream_rng(seed: int, name: str) -> np.random.Generator:
    """Generator for a named auxiliary stream (evaluation set, initialisation, Monte Carlo...)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1, zlib.crc32(name.encode()))))
