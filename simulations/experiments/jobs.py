"""The one training worker: classification training runs ("jobs") on any executor, grouped and resumable.

* A :class:`Job` is a model, a data setting and an optimiser config (seed included). Its ``key`` is a
  fingerprint of all three, so equal jobs are trained once.
* With a ``store`` folder (the context's ``checkpoint_dir``) every finished job is written there atomically,
  and a later call (after an interrupt, a crash, a killed worker) loads it instead of training again; a job
  that was running resumes from its own checkpoint (keyed by a fingerprint of its config) where the trainer
  supports one.
* Jobs that share shapes (model, width, sequence length, labels, batch, dtype, evaluation and step budget) are
  grouped, up to the context's ``batch_runs`` per task, and a group of more than one is trained in one numpy
  step on stacked weights when the batched trainer is available.
* A job that raises is reported with its error and does not stop the others.
"""

from __future__ import annotations

import traceback
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import fingerprint
from ..executors import InProcessExecutor
from ..induction_head import DataConfig, TrainConfig, TrainResult, train
from ..induction_head.training import run_fingerprint
from ..storage import write_npz


@dataclass(frozen=True)
class Job:
    """One classification training run: a model on a data setting with an optimiser config."""

    model: str
    data: DataConfig
    train: TrainConfig

    @property
    def key(self) -> str:
        """Fingerprint of everything that determines the result (seed and step budget included)."""
        return f"{self.model}-{fingerprint(self, ignore=('blas_threads',))}"

    def checkpoint(self, folder) -> Path | None:
        """The trainer's checkpoint file in ``folder``: keyed by the run's config without its step budget,
        so a longer run of the same config resumes it."""
        if folder is None:
            return None
        return Path(folder) / f"{self.model}-{run_fingerprint(self.data, self.train, self.model)}.npz"

    def shape(self) -> tuple:
        """What jobs must share to be trained together on stacked weights."""
        d, t = self.data, self.train
        return (self.model, d.width, d.T, d.L, d.P, t.batch, t.dtype, t.eval_size, t.eval_every, t.steps)


@dataclass(frozen=True)
class JobFailure:
    """A job that raised: its error message and traceback."""

    job: Job
    error: str
    traceback: str


def save_result(path: Path, result: TrainResult) -> None:
    """A finished job, atomically, as one ``.npz``."""
    resumed = -1 if result.resumed_at is None else result.resumed_at
    write_npz(
        path,
        {
            "resumed_at": resumed,
            **{f"param/{k}": v for k, v in result.params.items()},
            **{f"hist/{k}": v for k, v in result.history.items()},
            **{f"maps/{k}": v for k, v in result.maps.items()},
        },
    )


def load_result(path: Path) -> TrainResult:
    """A job saved by :func:`save_result`."""
    with np.load(path) as z:
        part = {
            p: {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(p + "/")}
            for p in ("param", "hist", "maps")
        }
        resumed = int(z["resumed_at"])
    return TrainResult(part["param"], part["hist"], part["maps"], None if resumed < 0 else resumed)


def _done_path(store, job: Job) -> Path | None:
    return None if store is None else Path(store) / "jobs" / f"{job.key}.npz"


def train_group(jobs: list[Job], store) -> list:
    """Train a group of jobs (in a worker): stacked when there are several and the batched trainer exists,
    one after another otherwise; each finished job is saved to ``store``. Returns results or JobFailures."""
    out = None
    if len(jobs) > 1:
        try:
            from ..induction_head.batched import train_batched
        except ImportError:
            train_batched = None
        if train_batched is not None:
            try:
                out = train_batched([j.data for j in jobs], [j.train for j in jobs], jobs[0].model)
            except Exception:  # fall back to one by one, so each job gets its own error
                out = None
    if out is None:
        out = []
        for job in jobs:
            try:
                out.append(train(job.data, job.train, job.model, checkpoint=job.checkpoint(store)))
            except Exception as exc:
                out.append(JobFailure(job, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    for job, res in zip(jobs, out, strict=True):
        if store is not None and isinstance(res, TrainResult):
            save_result(_done_path(store, job), res)  # write_npz makes the folder
    return out


def iter_jobs(jobs: list[Job], ctx):
    """Yield ``(job, result)`` for every distinct job as it completes (stored ones first); a result is a
    TrainResult or a :class:`JobFailure`. Jobs run on the context's executor, grouped by shape."""
    store = ctx.checkpoint_dir
    if store is not None:
        Path(store).mkdir(parents=True, exist_ok=True)
    unique = {}
    for job in jobs:
        unique.setdefault(job.key, job)
    pending = []
    for job in unique.values():
        path = _done_path(store, job)
        if path is not None and path.exists():
            yield job, load_result(path)
        else:
            pending.append(job)
    by_shape: dict[tuple, list[Job]] = {}
    for job in pending:
        by_shape.setdefault(job.shape(), []).append(job)
    size = max(1, ctx.batch_runs)
    groups = [g[i : i + size] for g in by_shape.values() for i in range(0, len(g), size)]
    for group, fut in completed(ctx.executor, train_group, [(group, store) for group in groups], groups):
        try:
            outs = fut.result()
        except Exception as exc:  # the whole task died (a lost worker): every job in it failed
            outs = [JobFailure(j, f"{type(exc).__name__}: {exc}", traceback.format_exc()) for j in group]
        yield from zip(group, outs, strict=True)


def completed(executor, fn, arg_tuples, tags):
    """Yield ``(tag, future)`` as the calls ``fn(*args)`` complete on ``executor``. An in-process executor
    runs each call when it is submitted, so there the calls are submitted one at a time (results come back
    as they are made); other executors get every call at once. Pending calls are cancelled on exit."""
    if isinstance(executor, InProcessExecutor):
        for tag, args in zip(tags, arg_tuples, strict=True):
            yield tag, executor.submit(fn, *args)
        return
    futures = {executor.submit(fn, *args): tag for tag, args in zip(tags, arg_tuples, strict=True)}
    try:
        for fut in as_completed(futures):
            yield futures[fut], fut
    finally:
        for fut in futures:
            fut.cancel()


def run_jobs(jobs: list[Job], ctx, *, raise_failures: bool = True) -> list:
    """Train every job (:func:`iter_jobs`); results in job order, one progress bar for all.

    Jobs already in the context's store are loaded, not trained. With ``raise_failures`` (the default) a
    RuntimeError listing every failed job is raised once all the others have finished; otherwise the failed
    jobs' places hold :class:`JobFailure` objects.
    """
    results, failures = {}, 0
    n_unique = len({job.key for job in jobs})
    with tqdm(total=n_unique, disable=not ctx.progress, desc="training runs") as bar:
        for job, res in iter_jobs(jobs, ctx):
            results[job.key] = res
            failures += isinstance(res, JobFailure)
            bar.update(1)
            bar.set_postfix(failed=failures)
    ordered = [results[job.key] for job in jobs]
    bad = [r for r in ordered if isinstance(r, JobFailure)]
    if bad and raise_failures:
        lines = "\n".join(f"  {f.job.model} seed {f.job.train.seed}: {f.error}" for f in bad)
        raise RuntimeError(f"{len(bad)} of {len(jobs)} training runs failed:\n{lines}")
    return ordered
