"""Sweeps: one experiment over a grid of config values and seeds, one saved cell per (grid point, seed).

* The grid comes from ``--grid field=v1,v2,...`` (repeatable; alternatives of a list-valued field are
  separated by ``;``) or a TOML file whose ``[grid]`` table maps field paths to lists of values.
* Each cell is the experiment run at its grid point with one seed, written atomically to its own folder
  ``<out>/<experiment>/sweep-<id>/cells/<cell-id>/``. A rerun of the same sweep skips finished cells and
  finishes the rest; a cell that raises is reported (``failed/<cell-id>.json`` with its traceback) while the
  others finish, and is retried on the next run.
* Experiments that plan their training runs (``Experiment.plan``) have the runs of all cells pooled:
  same-shape runs are grouped into batched tasks, finished runs are kept, and each cell is finished as soon
  as its own runs are done. Other experiments run one task per cell.
* Every task goes to one ``concurrent.futures`` executor (in-process, local processes, or Dask); one progress
  bar counts the cells, with the ETA and the failures.
* At the end ``summary.csv``, ``summary.md`` and ``summary.json`` give one row per grid point: each numeric
  result's mean, standard deviation, min and max over the seeds, the fraction of binding checks passed and
  the fraction of findings shown.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import time
import tomllib
import traceback
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import fingerprint, leaf_fields, resolve, to_dict
from ..executors import InProcessExecutor
from ..experiments.catalogue import get
from ..experiments.jobs import JobFailure, completed, iter_jobs
from ..experiments.kit import Context, Experiment
from ..storage import load_run, remove_stale_temporaries, write_json, write_run, write_text
from .report import counts


@dataclass(frozen=True)
class Cell:
    """One grid point (field path → value as typed on the command line) with one seed."""

    point: tuple[tuple[str, str], ...]
    seed: int

    @property
    def id(self) -> str:
        label = "_".join(f"{k.rpartition('.')[2]}={v}" for k, v in self.point)[:60].replace("/", "-")
        return f"{label + '_' if label else ''}seed{self.seed}-{fingerprint(self)[:8]}"

    @property
    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.point]


def parse_grid(items: list[str], base) -> dict[str, list[str]]:
    """``field=v1,v2`` strings (``;`` between alternatives of a list-valued field) to {path: [values]}."""
    types_ = {f.path: f.type for f in leaf_fields(base)}
    grid = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--grid expects field=v1,v2,..., got {item!r}")
        name, values = item.split("=", 1)
        path = resolve(base, name.strip())
        is_list = str(types_.get(path, "")).startswith("tuple")
        alternatives = [v.strip() for v in values.split(";" if is_list else ",") if v.strip()]
        if not alternatives:
            raise ValueError(f"--grid {name}: no values")
        grid[path] = alternatives
    return grid


def load_grid(path, base) -> dict[str, list[str]]:
    """A TOML grid file: ``[grid]`` maps field paths to lists of values (lists of lists for list fields)."""
    data = tomllib.loads(Path(path).read_text())
    if "grid" not in data or not isinstance(data["grid"], dict):
        raise ValueError(f"grid file {path}: expected a [grid] table of field = [values]")
    items = []
    for name, values in data["grid"].items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid file {path}: {name} must be a non-empty list of values")
        as_text = [",".join(map(str, v)) if isinstance(v, list) else str(v) for v in values]
        items.append(
            f"{name}=" + ";".join(as_text)
            if any(isinstance(v, list) for v in values)
            else f"{name}=" + ",".join(as_text)
        )
    return parse_grid(items, base)


def seeded(cfg, seed: int):
    """``cfg`` with its seed set: the field ``seeds`` (as a one-element list), else ``seed``, else
    ``train.seed``."""
    names = {f.name for f in dataclasses.fields(cfg)}
    if "seeds" in names:
        return replace(cfg, seeds=(seed,))
    if "seed" in names:
        return replace(cfg, seed=seed)
    if "train" in names and hasattr(cfg.train, "seed"):
        return replace(cfg, train=replace(cfg.train, seed=seed))
    raise ValueError(f"{type(cfg).__name__} has no seed field to sweep over")


@dataclass(frozen=True)
class Sweep:
    """A sweep's definition and its folder."""

    experiment: Experiment
    profile: str
    overrides: tuple[str, ...]
    grid: dict
    seeds: tuple[int, ...]
    root: Path

    def __post_init__(self):
        """One saved cell per (grid point, seed): a repeated seed or grid value would name one cell twice."""
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(
                f"seeds must not repeat (one cell per grid point and seed), got {list(self.seeds)}"
            )
        for key, values in self.grid.items():
            values = list(values)  # values may be lists (list-valued fields): compared with ==, not hashed
            if any(v in values[:i] for i, v in enumerate(values)):
                raise ValueError(
                    f"grid field {key!r} must not repeat a value (one cell per point), got {values}"
                )

    @property
    def id(self) -> str:
        return fingerprint(
            _Definition(
                self.experiment.name,
                self.profile,
                self.overrides,
                tuple((k, tuple(v)) for k, v in self.grid.items()),
                self.seeds,
            )
        )[:12]

    @property
    def folder(self) -> Path:
        return self.root / self.experiment.name / f"sweep-{self.id}"

    def cells(self) -> list[Cell]:
        keys = list(self.grid)
        points = itertools.product(*(self.grid[k] for k in keys)) if keys else [()]
        return [Cell(tuple(zip(keys, p, strict=True)), s) for p in points for s in self.seeds]

    def config(self, cell: Cell):
        return seeded(self.experiment.config(self.profile, list(self.overrides) + cell.overrides), cell.seed)


@dataclass(frozen=True)
class _Definition:
    experiment: str
    profile: str
    overrides: tuple
    grid: tuple
    seeds: tuple


def _write_failure(folder: Path, cell: Cell, error: str, trace: str) -> None:
    write_json(
        folder / "failed" / f"{cell.id}.json",
        {"cell": cell.id, "point": dict(cell.point), "seed": cell.seed, "error": error, "traceback": trace},
    )


def _save_cell(sweep_folder: Path, exp: Experiment, profile: str, cfg, cell: Cell, outcome, seconds: float):
    final = sweep_folder / "cells" / cell.id
    if final.exists():  # another worker finished it first
        return
    write_run(
        final,
        exp.name,
        profile,
        to_dict(cfg),
        {**outcome.metrics(), "cell": dict(cell.point), "seed": cell.seed},
        outcome.arrays,
        seconds=seconds,
    )
    (sweep_folder / "failed" / f"{cell.id}.json").unlink(missing_ok=True)


def run_cell(name: str, profile: str, overrides: list[str], cell: Cell, sweep_folder: str) -> tuple[str, str]:
    """Run one cell in a worker and save it; returns (cell id, "" or the error)."""
    folder = Path(sweep_folder)
    exp = get(name)
    try:
        cfg = seeded(exp.config(profile, overrides + cell.overrides), cell.seed)
        t0 = time.perf_counter()
        outcome = exp.execute(cfg, Context(executor=InProcessExecutor()))
        _save_cell(folder, exp, profile, cfg, cell, outcome, time.perf_counter() - t0)
        return cell.id, ""
    except Exception as exc:
        _write_failure(folder, cell, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        return cell.id, f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class SweepReport:
    """What a sweep run did: its folder, the cells run now, skipped (already done) and failed."""

    folder: Path
    total: int
    done_now: list
    skipped: list
    failed: dict


def run_sweep(sweep: Sweep, executor=None, *, progress: bool = False, batch_runs: int = 1) -> SweepReport:
    """Run every unfinished cell of ``sweep`` on ``executor`` (default in-process) and write the summary."""
    executor = executor or InProcessExecutor()
    folder = sweep.folder
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder / "cells")
    cells = sweep.cells()
    configs = {c.id: sweep.config(c) for c in cells}  # every cell's config is checked before any work
    write_json(
        folder / "sweep.json",
        {
            "experiment": sweep.experiment.name,
            "profile": sweep.profile,
            "overrides": list(sweep.overrides),
            "grid": sweep.grid,
            "seeds": list(sweep.seeds),
            "cells": [c.id for c in cells],
        },
    )
    done = {p.name for p in (folder / "cells").iterdir() if not p.name.startswith(".")}
    todo = [c for c in cells if c.id not in done]
    skipped = [c.id for c in cells if c.id in done]
    finished, failed = [], {}
    with tqdm(
        total=len(cells), initial=len(skipped), disable=not progress, desc=f"sweep {sweep.id}", unit="cell"
    ) as bar:

        def tick(cell_id, error):
            (failed.__setitem__(cell_id, error) if error else finished.append(cell_id))
            bar.update(1)
            bar.set_postfix(failed=len(failed))

        if sweep.experiment.plan is not None and todo:
            _run_planned(sweep, todo, configs, executor, batch_runs, tick)
        else:
            args = [
                (sweep.experiment.name, sweep.profile, list(sweep.overrides), cell, str(folder))
                for cell in todo
            ]
            for _, fut in completed(executor, run_cell, args, todo):
                tick(*fut.result())
    write_summary(folder)
    return SweepReport(folder, len(cells), finished, skipped, failed)


def _run_planned(sweep: Sweep, todo, configs, executor, batch_runs, tick) -> None:
    """Pool the training runs of every unfinished cell, finish each cell when its runs are done."""
    exp = sweep.experiment
    ctx = Context(executor=executor, checkpoint_dir=sweep.folder / "store", batch_runs=batch_runs)
    plans = {c.id: exp.plan(configs[c.id]) for c in todo}
    waiting = {c.id: {j.key for j in plans[c.id]} for c in todo}
    by_id = {c.id: c for c in todo}
    results, t0 = {}, time.perf_counter()
    for cell_id in [i for i, keys in waiting.items() if not keys]:
        _finish(sweep, by_id[cell_id], configs[cell_id], [], ctx, t0, tick)
        del waiting[cell_id]
    all_jobs = [j for jobs in plans.values() for j in jobs]
    for job, res in iter_jobs(all_jobs, ctx):
        results[job.key] = res
        for cell_id in [i for i, keys in waiting.items() if job.key in keys]:
            waiting[cell_id].discard(job.key)
            if waiting[cell_id]:
                continue
            del waiting[cell_id]
            runs = [results[j.key] for j in plans[cell_id]]
            bad = [r for r in runs if isinstance(r, JobFailure)]
            if bad:
                _write_failure(sweep.folder, by_id[cell_id], bad[0].error, bad[0].traceback)
                tick(cell_id, bad[0].error)
            else:
                _finish(sweep, by_id[cell_id], configs[cell_id], runs, ctx, t0, tick)


def _finish(sweep, cell, cfg, runs, ctx, t0, tick) -> None:
    try:
        outcome = sweep.experiment.finish(cfg, runs, ctx)
        _save_cell(
            sweep.folder, sweep.experiment, sweep.profile, cfg, cell, outcome, time.perf_counter() - t0
        )
        tick(cell.id, "")
    except Exception as exc:
        _write_failure(sweep.folder, cell, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        tick(cell.id, f"{type(exc).__name__}: {exc}")


def _numbers(obj, prefix="") -> dict[str, float]:
    """Every numeric leaf of a JSON object, by dotted path (lists indexed); booleans count as 0/1."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k != "checks":
                out.update(_numbers(v, f"{prefix}{k}."))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_numbers(v, f"{prefix}{i}."))
    elif isinstance(obj, (bool, int, float)) and obj is not None:
        out[prefix[:-1]] = float(obj)
    return out


def write_summary(folder) -> Path:
    """One row per grid point from the saved cells: each numeric result's mean, std, min and max over seeds,
    the fraction of binding checks passed and of findings shown; ``summary.csv``, ``summary.md`` and
    ``summary.json``."""
    folder = Path(folder)
    groups = defaultdict(list)
    for cfg in sorted((folder / "cells").glob("*/config.json")):
        run = load_run(cfg.parent)
        groups[json.dumps(run.metrics.get("cell", {}), sort_keys=True)].append(run)
    rows, point_keys = [], []
    for point, runs in groups.items():
        point_keys += [k for k in json.loads(point) if k not in point_keys]
        values = defaultdict(list)
        for run in runs:
            for k, v in _numbers(run.metrics).items():
                if k not in ("seed",):
                    values[k].append(v)
        passed, failed, shown, not_shown = counts([c for run in runs for c in run.checks])
        row = {
            **json.loads(point),
            "seeds": len(runs),
            "checks_passed": passed / (passed + failed) if passed + failed else None,
            "findings_shown": shown / (shown + not_shown) if shown + not_shown else None,
        }
        for k, v in sorted(values.items()):
            a = np.array(v)
            row.update(
                {
                    f"{k}.mean": float(a.mean()),
                    f"{k}.std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
                    f"{k}.min": float(a.min()),
                    f"{k}.max": float(a.max()),
                }
            )
        rows.append(row)
    counted = ["seeds", "checks_passed", "findings_shown"]
    metric_keys = sorted({k for r in rows for k in r} - set(point_keys) - set(counted))
    columns = point_keys + counted + metric_keys
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text(folder / "summary.csv", buf.getvalue())
    write_json(folder / "summary.json", rows)
    lead = point_keys + counted + [c for c in metric_keys if c.endswith(".mean")][:8]
    md = ["| " + " | ".join(lead) + " |", "|" + "---|" * len(lead)]
    md += ["| " + " | ".join(_fmt(r.get(c)) for c in lead) + " |" for r in rows]
    write_text(folder / "summary.md", "\n".join(md) + "\n\nAll columns (std, min, max too): summary.csv\n")
    return folder / "summary.csv"


def _fmt(v) -> str:
    return "—" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
