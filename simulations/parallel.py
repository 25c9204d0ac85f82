"""Independent training runs in parallel worker processes (one BLAS thread each).

Sweeps (transition times, data-dependence grids) are lists of independent runs whose results depend only on
their own config and seed, so running them in ``jobs`` processes changes the wall time, never the numbers.
``jobs`` comes from the environment variable ``ICL_DYNAMICS_JOBS`` (default: the number of CPU cores);
``ICL_DYNAMICS_JOBS=1`` runs in this process. Workers are spawned with ``OPENBLAS_NUM_THREADS=1`` (and the
MKL/OpenMP equivalents): two multi-threaded BLAS processes on two cores slow each other down far more than 2×.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def jobs() -> int:
    """Worker processes to use: ``ICL_DYNAMICS_JOBS`` or the CPU count."""
    raw = os.environ.get("ICL_DYNAMICS_JOBS", "")
    if not raw:
        return os.cpu_count() or 1
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"ICL_DYNAMICS_JOBS must be an integer >= 1, got {raw!r}")
    return int(raw)


def run_all(fn: Callable, items: Iterable, n_jobs: int | None = None) -> list:
    """``[fn(item) for item in items]``, in order, over ``n_jobs`` spawned processes (``fn`` must be a
    module-level function and the items picklable)."""
    items = list(items)
    n = min(n_jobs or jobs(), len(items))
    if n <= 1:
        return [fn(it) for it in items]
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})  # read by the workers' BLAS at import
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(fn, items))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
