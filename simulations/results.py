"""Saved runs: ``<root>/<experiment>/<run-id>/`` with config.json, metrics.json, arrays.npz, figures/.

A run directory is assembled under a hidden temporary name and renamed into place at the end, so an
interrupted or failed run leaves nothing half-written under its final name.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Check:
    """One theory-vs-simulation comparison: passes iff ``discrepancy <= tolerance``.

    ``why`` states where the tolerance comes from (a Monte Carlo standard error, an integrator
    tolerance, a learning-rate bound...).
    """

    name: str
    theory: float
    simulation: float
    discrepancy: float
    tolerance: float
    why: str

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.discrepancy) and self.discrepancy <= self.tolerance)

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_text(path: Path, text: str) -> None:
    """Atomic text write (temporary file + rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    """Atomic JSON write."""
    write_text(path, json.dumps(data, indent=2, default=_json_default, allow_nan=True))


def save_run(root, experiment: str, config: dict, metrics: dict, arrays: dict, profile: str) -> Path:
    """Write a run atomically and return its directory."""
    base = Path(root) / experiment
    base.mkdir(parents=True, exist_ok=True)
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    final = base / run_id
    n = 1
    while final.exists():
        final = base / f"{run_id}-{n}"
        n += 1
    tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
    try:
        write_json(tmp / "config.json", {"experiment": experiment, "profile": profile, "config": config})
        write_json(tmp / "metrics.json", metrics)
        np.savez(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in arrays.items()})
        (tmp / "figures").mkdir()
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


@dataclass(frozen=True)
class SavedRun:
    """A run read back from disk."""

    path: Path
    experiment: str
    profile: str
    config: dict
    metrics: dict
    arrays: dict


def load_run(run_dir) -> SavedRun:
    """Read a run directory written by :func:`save_run`."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.json)")
    head = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    with np.load(run_dir / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return SavedRun(run_dir, head["experiment"], head["profile"], head["config"], metrics, arrays)
