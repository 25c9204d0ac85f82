"""Saved runs and atomic files.

A run is ``<root>/<experiment>/<run-id>/`` with ``config.json``, ``metrics.json``, ``arrays.npz`` and
``figures/``. It is assembled under a hidden temporary name, its figures are drawn there from the saved
files, and only then is it renamed into place: an interrupted or failed run leaves nothing under a final
name. Files and folders get the permissions the umask allows (readable by the group by default), not the
owner-only modes of ``tempfile``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _open_up(path: Path, directory: bool) -> None:
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_atomic(path, write: Callable[[Path], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path`` (its folder is
    created if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        _open_up(Path(tmp), directory=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path, text: str) -> Path:
    """Atomic text write (UTF-8)."""
    return write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path, data) -> Path:
    """Atomic JSON write (numpy scalars and arrays converted)."""
    return write_text(path, json.dumps(data, indent=2, default=_json_default, allow_nan=True))


def write_npz(path, arrays: dict) -> Path:
    """Atomic ``.npz`` write of named arrays."""
    return write_atomic(
        path, lambda p: np.savez(p, **{k: np.asarray(v) for k, v in arrays.items()}), suffix=".npz"
    )


def check_writable_dir(root) -> Path:
    """Make sure ``root`` is (or can be made) a writable directory, before any work starts.

    Raises
    ------
    ValueError
        ``root`` is a file, or cannot be created or written (the reason is given).
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"output folder {str(root)!r} is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"output folder {str(root)!r} is not writable: {exc.strerror or exc}") from None
    return root


def machine() -> str:
    """One line about where a run ran: CPU count, platform, Python and numpy versions."""
    import platform

    return (
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


@dataclass(frozen=True)
class SavedRun:
    """A run read back from disk: its folder, experiment, profile and config, the outcome's summary and
    checks (``metrics``) and its arrays."""

    path: Path
    experiment: str
    profile: str
    config: dict
    metrics: dict
    arrays: dict
    seconds: float | None = None
    finished: str = ""
    machine: str = ""

    @property
    def checks(self) -> list[dict]:
        return self.metrics.get("checks", [])

    @property
    def figures(self) -> list[Path]:
        return sorted((self.path / "figures").glob("*.png"))


def write_run(
    final,
    experiment: str,
    profile: str,
    config: dict,
    metrics: dict,
    arrays: dict,
    draw: Callable[[SavedRun], object] | None = None,
    seconds: float | None = None,
) -> SavedRun:
    """Write a run folder atomically at ``final``: assembled under a hidden temporary name beside it, figures
    drawn there by ``draw`` from the saved files, then renamed. ``seconds``: the computation's wall time.

    Raises
    ------
    FileExistsError
        ``final`` exists already (nothing is overwritten).
    """
    final = Path(final)
    base = final.parent
    base.mkdir(parents=True, exist_ok=True)
    _open_up(base, directory=True)
    tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
    try:
        _open_up(tmp, directory=True)
        head = {
            "experiment": experiment,
            "profile": profile,
            "config": config,
            "seconds": seconds,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": machine(),
        }
        write_json(tmp / "config.json", head)
        write_json(tmp / "metrics.json", metrics)
        write_npz(tmp / "arrays.npz", arrays)
        (tmp / "figures").mkdir()
        _open_up(tmp / "figures", directory=True)
        if draw is not None:
            draw(load_run(tmp))
        if final.exists():
            raise FileExistsError(f"{final} exists already")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return replace(load_run(final), path=final)


def save_run(
    root,
    experiment: str,
    profile: str,
    config: dict,
    metrics: dict,
    arrays: dict,
    draw: Callable[[SavedRun], object] | None = None,
    seconds: float | None = None,
) -> SavedRun:
    """Write a run atomically under ``root/<experiment>/<run-id>/`` (:func:`write_run`) and return it."""
    base = Path(root) / experiment
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    final, n = base / run_id, 1
    while final.exists():
        final = base / f"{run_id}-{n}"
        n += 1
    return write_run(final, experiment, profile, config, metrics, arrays, draw, seconds)


def remove_stale_temporaries(folder) -> int:
    """Delete the hidden ``.tmp-*`` folders a killed process left in ``folder``; return how many."""
    n = 0
    for tmp in Path(folder).glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        n += 1
    return n


def load_run(run_dir) -> SavedRun:
    """Read a run folder written by :func:`save_run`."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json)")
    head = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    with np.load(run_dir / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return SavedRun(
        run_dir,
        head["experiment"],
        head["profile"],
        head["config"],
        metrics,
        arrays,
        head.get("seconds"),
        head.get("finished", ""),
        head.get("machine", ""),
    )
