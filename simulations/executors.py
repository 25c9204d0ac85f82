"""Where independent training runs execute: one ``concurrent.futures.Executor`` interface for all.

* :class:`InProcessExecutor`: runs each task when it is submitted (the default; no processes, no pickling);
* :func:`process_executor`: ``workers`` local processes (spawned, one BLAS thread each);
* :func:`dask_executor`: a running Dask cluster (``scheduler`` address) or a ``LocalCluster`` started here
  (``local_workers``); needs the optional extra ``icl-dynamics[cluster]``.

Experiments and sweeps only call ``submit``/``map`` and ``concurrent.futures.wait``/``as_completed``, so the
same code runs on all three, and the numbers are the same on all three (each task's result depends on its
own arguments only; the trainers pin their own BLAS threads, :mod:`simulations.threads`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class InProcessExecutor(Executor):
    """Run every task in this process, at submission; exceptions are stored in the future."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Call ``fn(*args, **kwargs)`` now; return a finished future holding its result or exception."""
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # KeyboardInterrupt and SystemExit propagate
            future.set_exception(exc)
        return future


def _one_blas_thread() -> None:
    """Worker initializer: BLAS libraries read these variables when numpy is first imported."""
    os.environ.update({k: "1" for k in _THREAD_VARS})


def process_executor(workers: int) -> Executor:
    """``workers`` spawned local processes (spawn: no inherited BLAS thread pools or locks)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_blas_thread
    )


class DaskExecutor(Executor):
    """A Dask client's ``concurrent.futures`` executor; ``shutdown`` closes the client (and a cluster it
    started)."""

    def __init__(self, client, cluster=None):
        self.client, self.cluster = client, cluster
        self._executor = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Schedule ``fn(*args, **kwargs)`` on the cluster; a ``concurrent.futures.Future`` of its result."""
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the client (and the cluster it started). With ``wait`` False, or ``cancel_futures`` True,
        tasks still pending are dropped: closing the client releases every future it holds."""
        self._executor.shutdown(wait=wait and not cancel_futures)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def dask_executor(scheduler: str | None = None, local_workers: int | None = None) -> DaskExecutor:
    """Connect to the Dask scheduler at ``scheduler``, or start a ``LocalCluster`` of ``local_workers``
    single-threaded worker processes (exactly one of the two)."""
    if (scheduler is None) == (local_workers is None):
        raise ValueError("give exactly one of scheduler (an address) and local_workers (a count)")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(
            "Dask executors need the optional extra: pip install 'icl-dynamics[cluster]'"
        ) from None
    if scheduler is not None:
        return DaskExecutor(Client(scheduler))
    if isinstance(local_workers, bool) or not isinstance(local_workers, int) or local_workers < 1:
        raise ValueError(f"local_workers must be an integer >= 1, got {local_workers!r}")
    cluster = LocalCluster(
        n_workers=local_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={k: "1" for k in _THREAD_VARS},
    )
    return DaskExecutor(Client(cluster), cluster)
