"""Sweeps: the same numbers on every executor, resumption after a real kill, failures reported."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simulations.executors import InProcessExecutor, dask_executor, process_executor
from simulations.experiments.catalogue import EXPERIMENTS, get
from simulations.interfaces import cli
from simulations.interfaces.sweep import Sweep, load_grid, parse_grid, run_sweep
from simulations.storage import load_run

TINY = [
    "data.K=16",
    "data.L=4",
    "data.N=2",
    "data.D=7",
    "data.P=5",
    "train.steps=40",
    "train.batch=16",
    "train.eval_every=20",
    "train.eval_size=40",
]


def tiny_sweep(root, seeds=(0, 1), grid=("data.B=1", "data.epsilon=0.1,0.5")) -> Sweep:
    exp = get("induction-head-curves")
    base = exp.config("quick", TINY)
    return Sweep(exp, "quick", tuple(TINY), parse_grid(list(grid), base), tuple(seeds), Path(root))


def cell_numbers(folder: Path) -> dict:
    out = {}
    for cfg in sorted((folder / "cells").glob("*/config.json")):
        run = load_run(cfg.parent)
        out[cfg.parent.name] = (
            json.dumps(run.metrics, sort_keys=True),
            {k: run.arrays[k] for k in run.arrays},
        )
    return out


def assert_same_cells(a: dict, b: dict):
    assert a.keys() == b.keys() and a
    for k in a:
        assert a[k][0] == b[k][0]
        for name in a[k][1]:
            np.testing.assert_array_equal(a[k][1][name], b[k][1][name])


def test_grid_parsing_and_cells(tmp_path):
    sw = tiny_sweep(tmp_path, seeds=(0, 1, 2), grid=("K=16,32", "data.epsilon=0.1,0.5"))
    assert sw.grid == {"data.K": ["16", "32"], "data.epsilon": ["0.1", "0.5"]}
    cells = sw.cells()
    assert len(cells) == 12 and len({c.id for c in cells}) == 12
    assert sw.config(cells[0]).seeds == (0,) and sw.config(cells[-1]).data.K == 32
    toml = tmp_path / "grid.toml"
    toml.write_text('[grid]\n"data.K" = [16, 32]\nepsilon = [0.1, 0.5]\n')
    assert load_grid(toml, get("induction-head-curves").config("quick", TINY)) == sw.grid
    with pytest.raises(ValueError, match="unknown config field 'kk'"):
        parse_grid(["kk=1,2"], get("induction-head-curves").config("quick"))


def test_same_numbers_in_process_and_in_local_processes(tmp_path):
    a = run_sweep(tiny_sweep(tmp_path / "a"), InProcessExecutor())
    with process_executor(2) as pool:
        b = run_sweep(tiny_sweep(tmp_path / "b"), pool)
    assert len(a.done_now) == len(b.done_now) == 4
    assert_same_cells(cell_numbers(a.folder), cell_numbers(b.folder))
    summary = (a.folder / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 2 and summary[0].startswith(
        "data.B,data.epsilon,seeds,checks_passed,findings_shown"
    )


def test_same_numbers_on_a_dask_local_cluster(tmp_path):
    pytest.importorskip("dask.distributed", reason="dask is an optional extra (icl-dynamics[cluster])")
    a = run_sweep(tiny_sweep(tmp_path / "a"), InProcessExecutor())
    with dask_executor(local_workers=2) as cluster:
        b = run_sweep(tiny_sweep(tmp_path / "b"), cluster, batch_runs=2)
    assert_same_cells(cell_numbers(a.folder), cell_numbers(b.folder))


def test_a_sweep_killed_midway_finishes_only_the_missing_cells(tmp_path):
    """A real SIGKILL of the whole process group while cells are being written, then the same command."""
    cmd = [
        sys.executable,
        "-m",
        "simulations.interfaces.cli",
        "sweep",
        "induction-head-curves",
        "--out",
        str(tmp_path),
        "--workers",
        "1",
        "--seeds",
        "0,1,2,3,4,5",
        "--grid",
        "data.epsilon=0.1,0.5",
    ]
    cmd += [a for s in TINY for a in ("--set", s.replace("train.steps=40", "train.steps=200"))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    cells = None
    deadline = time.time() + 180
    while time.time() < deadline:
        found = list(tmp_path.glob("induction-head-curves/sweep-*/cells"))
        if found and len([p for p in found[0].iterdir() if not p.name.startswith(".")]) >= 3:
            cells = found[0]
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert cells is not None, "the sweep did not get going"
    before = {p.name for p in cells.iterdir() if not p.name.startswith(".")}
    assert 3 <= len(before) < 12
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"12 cells: {12 - len(before)} run now, {len(before)} already done, 0 failed" in again.stdout
    after = [p.name for p in cells.iterdir()]
    assert len(after) == 12 and set(after) >= before  # none lost, none duplicated, no temporaries left
    sweep_def = json.loads((cells.parent / "sweep.json").read_text())
    assert sorted(sweep_def["cells"]) == sorted(after)


def test_a_failing_cell_is_reported_while_the_others_finish(tmp_path, capsys):
    rc = cli.main(
        [
            "sweep",
            "induction-head-curves",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--seeds",
            "0",
            "--grid",
            "train.lr=0.05,1e9",
        ]
        + [a for s in TINY for a in ("--set", s)]
    )
    out = capsys.readouterr().out
    assert rc == 1 and "2 cells: 1 run now, 0 already done, 1 failed" in out and "diverged" in out
    folder = next(tmp_path.glob("induction-head-curves/sweep-*"))
    (fail,) = (folder / "failed").iterdir()
    assert "lr=1e9" in fail.name and "diverged at step" in json.loads(fail.read_text())["traceback"]
    assert len(list((folder / "cells").iterdir())) == 1


def test_cells_of_unplanned_experiments_run_as_tasks_and_fail_alone(tmp_path):
    exp = EXPERIMENTS["linear-attention-symbolic"]
    real, calls = exp.run, []

    def run(cfg, ctx):
        calls.append(cfg.trials)
        if cfg.trials == 2:
            raise RuntimeError("boom")
        return real(cfg, ctx)

    object.__setattr__(exp, "run", run)
    try:
        sw = Sweep(exp, "quick", (), parse_grid(["trials=1,2"], exp.config("quick")), (0,), tmp_path)
        rep = run_sweep(sw, InProcessExecutor())
    finally:
        object.__setattr__(exp, "run", real)
    assert sorted(calls) == [1, 2] and len(rep.done_now) == 1
    assert list(rep.failed.values()) == ["RuntimeError: boom"]
