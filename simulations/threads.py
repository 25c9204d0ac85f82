"""BLAS thread control for the trainers.

The networks' steps are many mid-size matrix products: on a laptop, several BLAS threads per step are
slower than one (the library measured 29.5 s against 1.8 s for 300 classification steps on 2 cores), and
several worker processes each running several threads slow each other down far more. Every trainer
therefore runs under :func:`blas_threads` with the thread count of its config (default 1), from the command
line or from Python alike.
"""

from __future__ import annotations

import contextlib

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def blas_threads(n: int):
    """Limit the BLAS (and OpenMP) thread pools to ``n`` threads inside the block."""
    with threadpool_limits(limits=int(n)):
        yield
