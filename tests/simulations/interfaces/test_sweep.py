"""Sweeps: the same numbers on every executor, resumption after a real kill, failures reported."""

import csv
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simulations.executors import InProcessExecutor, dask_executor, process_executor
from simulations.experiments.catalogue import EXPERIMENTS, get
from simulations.experiments.kit import Check, Outcome
from simulations.interfaces import cli
from simulations.interfaces.sweep import (
    Cell,
    Sweep,
    SweepReport,
    load_grid,
    parse_grid,
    run_sweep,
    seeded,
    write_summary,
)
from simulations.storage import load_run, write_run
from tests.spies import swapped

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
    """Four cells in-process and in two local processes: the same numbers. Each saved cell records the
    seconds from the sweep's start to its finish, so between 0 and the sweep's wall time."""
    t0 = time.perf_counter()
    a = run_sweep(tiny_sweep(tmp_path / "a"), InProcessExecutor())
    wall = time.perf_counter() - t0
    seconds = [load_run(p).seconds for p in sorted((a.folder / "cells").iterdir())]
    assert len(seconds) == 4 and all(0 < s <= wall for s in seconds), (seconds, wall)
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

    with swapped(exp, run=run):
        sw = Sweep(exp, "quick", (), parse_grid(["trials=1,2"], exp.config("quick")), (0,), tmp_path)
        rep = run_sweep(sw, InProcessExecutor())
    assert sorted(calls) == [1, 2] and len(rep.done_now) == 1
    assert list(rep.failed.values()) == ["RuntimeError: boom"]


# ------------------------------------------------------------------------------------------ cells and ids
HEX = re.compile(r"[0-9a-f]{8}")


def test_cell_ids_name_the_point_and_the_seed():
    """Cell.id: the last part of each field path '=' its value, '_' between, '_seed<S>', '-' and 8 hex digits
    of a fingerprint of the cell; the label is cut at 60 characters, '/' becomes '-'."""
    cell = Cell((("data.K", "16"), ("train.lr", "0.05")), 3)
    label, _, digest = cell.id.rpartition("-")
    assert label == "K=16_lr=0.05_seed3" and HEX.fullmatch(digest)
    assert Cell((("data.K", "16"), ("train.lr", "0.05")), 3).id == cell.id  # the same cell, the same id
    others = [
        Cell((("model.K", "16"), ("train.lr", "0.05")), 3),
        Cell(cell.point, 4),
        Cell(cell.point[:1], 3),
    ]
    assert len({cell.id.rpartition("-")[2]} | {c.id.rpartition("-")[2] for c in others}) == 4
    long = Cell((("data.name", "1" * 100),), 0).id
    assert long.rpartition("-")[0] == "name=" + "1" * 55 + "_seed0"  # 60 characters of label
    assert Cell((("data.path", "a/b/c"),), 1).id.rpartition("-")[0] == "path=a-b-c_seed1"
    assert Cell((), 2).id.rpartition("-")[0] == "seed2"
    assert cell.overrides == ["data.K=16", "train.lr=0.05"]


def test_sweep_id_is_a_fingerprint_of_its_whole_definition(tmp_path):
    """The sweep id (docs/howto/sweep.md): a fingerprint of experiment, profile, overrides, grid and seeds,
    so the same command finds the same folder and any change of definition a new one."""
    exp = get("linear-attention-symbolic")
    base = dict(
        experiment=exp, profile="quick", overrides=("trials=1",), grid={"d": ["2", "3"]}, seeds=(0, 1)
    )
    sw = Sweep(**base, root=tmp_path)
    assert re.fullmatch(r"[0-9a-f]{12}", sw.id)
    assert Sweep(**base, root=tmp_path / "elsewhere").id == sw.id
    assert sw.folder == tmp_path / "linear-attention-symbolic" / f"sweep-{sw.id}"
    changed = [
        {"experiment": get("linear-attention-flow")},
        {"profile": "paper"},
        {"overrides": ("trials=2",)},
        {"grid": {"d": ["2", "4"]}},
        {"grid": {"d": ["2"], "trials": ["3"]}},
        {"seeds": (0, 2)},
        {"seeds": (0,)},
    ]
    ids = {Sweep(**{**base, **c}, root=tmp_path).id for c in changed}
    assert len(ids) == len(changed) and sw.id not in ids


def test_a_sweep_without_a_grid_has_one_cell_per_seed(tmp_path):
    """No --grid: the cells are the seeds alone (one empty grid point), each config seeded."""
    exp = get("linear-attention-symbolic")
    sw = Sweep(exp, "quick", (), {}, (0, 5), tmp_path)
    cells = sw.cells()
    assert [(c.point, c.seed) for c in cells] == [((), 0), ((), 5)]
    assert [sw.config(c).seed for c in cells] == [0, 5]


def test_cells_are_the_product_of_the_axes_times_the_seeds(tmp_path):
    """Written out: axes K (2 values) and B (3 values), seeds 0 and 1: 12 cells, seeds varying fastest."""
    sw = tiny_sweep(tmp_path, seeds=(0, 1), grid=("K=16,32", "data.B=1,2,3"))
    want = [(("data.K", k), ("data.B", b), s) for k in ("16", "32") for b in ("1", "2", "3") for s in (0, 1)]
    assert [(*c.point, c.seed) for c in sw.cells()] == want


def test_list_valued_fields_take_alternatives_separated_by_semicolons(tmp_path):
    """docs/howto/sweep.md: for a list field ';' separates alternatives (--grid Ns="2,4;8" is two cells,
    Ns = (2, 4) and Ns = (8,)); in a TOML grid file a list field takes a list of lists."""
    exp = get("linear-attention-risk")
    base = exp.config("quick")
    grid = parse_grid(["Ns=2,4;8", "d=2,3"], base)
    assert grid == {"Ns": ["2,4", "8"], "d": ["2", "3"]}
    sw = Sweep(exp, "quick", (), grid, (0,), tmp_path)
    assert [(sw.config(c).Ns, sw.config(c).d) for c in sw.cells()] == [
        ((2, 4), 2),
        ((2, 4), 3),
        ((8,), 2),
        ((8,), 3),
    ]
    toml = tmp_path / "grid.toml"
    toml.write_text("[grid]\nNs = [[2, 4], [8]]\nd = [2, 3]\n")
    assert load_grid(toml, base) == grid


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["data.K"], "--grid expects field=v1,v2,..., got 'data.K'"),
        (["data.K=,"], "--grid data.K: no values"),
        (["kk=1,2"], "unknown config field 'kk'"),
    ],
)
def test_bad_grid_options_name_the_option_and_the_rule(items, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_grid(items, get("induction-head-curves").config("quick"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("K = [16, 32]\n", "expected a [grid] table of field = [values]"),
        ("grid = 3\n", "expected a [grid] table of field = [values]"),
        ("[grid]\nK = []\n", "K must be a non-empty list of values"),
        ("[grid]\nK = 16\n", "K must be a non-empty list of values"),
    ],
)
def test_bad_grid_files_name_the_file_and_the_rule(tmp_path, text, message):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"grid file {path}: {message}")):
        load_grid(path, get("induction-head-curves").config("quick"))


def test_seeded_sets_seeds_else_seed_else_train_seed():
    """docs/howto/sweep.md: the seed goes to ``seeds`` (a one-element list), else ``seed``, else
    ``train.seed``; hand-built configs with each layout (and with two of them)."""

    @dataclasses.dataclass(frozen=True)
    class Train:
        seed: int = 7

    @dataclasses.dataclass(frozen=True)
    class Both:
        seeds: tuple = (1, 2)
        seed: int = 7
        train: Train = Train()

    @dataclasses.dataclass(frozen=True)
    class SeedAndTrain:
        seed: int = 7
        train: Train = Train()

    @dataclasses.dataclass(frozen=True)
    class TrainOnly:
        train: Train = Train()

    @dataclasses.dataclass(frozen=True)
    class NoSeed:
        x: int = 1

    assert seeded(Both(), 3) == Both(seeds=(3,))
    assert seeded(SeedAndTrain(), 3) == SeedAndTrain(seed=3)
    assert seeded(TrainOnly(), 3) == TrainOnly(train=Train(seed=3))
    with pytest.raises(ValueError, match="NoSeed has no seed field to sweep over"):
        seeded(NoSeed(), 3)


# ------------------------------------------------------------------------------------------ summary
def test_summary_statistics_over_seeds_written_out(tmp_path):
    """write_summary on hand-built cells: one row per grid point; per numeric result (nested and list
    entries by dotted path, booleans as 0/1, the seed and the checks left out) the mean, the sample
    standard deviation (n - 1; 0 for one seed), min and max; the fraction of binding checks passed and of
    findings shown (empty when there are none). Every expected number is computed by hand here."""
    PASS = Check.value("p", 1.0, 1.0, 0.1, "test").as_dict()
    FAIL = Check.value("f", 0.0, 1.0, 0.1, "test").as_dict()
    SHOWN = Check.finding("s", True, "test").as_dict()
    NOT_SHOWN = Check.finding("n", False, "test").as_dict()
    cells = {  # folder name (sorted order mixes the points): (K, seed, x, loss, flag, checks)
        "a": ("16", 0, 1.0, [0.5, 2.0], True, [PASS, FAIL]),
        "b": ("32", 0, 4.0, [3.0, 3.0], False, []),
        "c": ("16", 1, 2.0, [1.5, 2.0], False, [PASS]),
        "d": ("16", 2, 6.0, [1.0, 2.0], True, [PASS, SHOWN, NOT_SHOWN, NOT_SHOWN]),
    }
    for name, (k, seed, x, loss, flag, checks) in cells.items():
        metrics = {"cell": {"data.K": k}, "seed": seed, "x": x, "nested": {"loss": loss}, "flag": flag}
        metrics |= {"label": "text", "missing": None, "checks": checks}
        write_run(tmp_path / "cells" / name, "induction-head-curves", "quick", {}, metrics, {})
    csv_path = write_summary(tmp_path)
    rows = json.loads((tmp_path / "summary.json").read_text())
    stats = ("mean", "std", "min", "max")
    metrics = [f"{k}.{s}" for k in ("flag", "nested.loss.0", "nested.loss.1", "x") for s in stats]
    columns = ["data.K", "seeds", "checks_passed", "findings_shown", *sorted(metrics)]
    assert [sorted(r) for r in rows] == [sorted(columns)] * 2
    k16, k32 = rows
    # K = 16, seeds 0, 1, 2: x = 1, 2, 6 (mean 3, deviations -2, -1, 3); loss.0 = 0.5, 1.5, 1.0; flag 1, 0, 1
    assert k16["data.K"] == "16" and k16["seeds"] == 3
    assert k16["checks_passed"] == pytest.approx(3 / 4)  # binding: 3 of 4 passed
    assert k16["findings_shown"] == pytest.approx(1 / 3)  # findings: 1 of 3 shown
    want = {
        "x": (3.0, np.sqrt((4 + 1 + 9) / 2), 1.0, 6.0),
        "nested.loss.0": (1.0, np.sqrt((0.25 + 0.25 + 0) / 2), 0.5, 1.5),
        "nested.loss.1": (2.0, 0.0, 2.0, 2.0),
        "flag": (2 / 3, np.sqrt((1 / 9 + 4 / 9 + 1 / 9) / 2), 0.0, 1.0),
    }
    for key, values in want.items():
        assert [k16[f"{key}.{s}"] for s in stats] == pytest.approx(list(values)), key
    # K = 32, one seed: std 0, no checks and no findings (two seeds: see the test below)
    assert k32["data.K"] == "32" and k32["seeds"] == 1
    assert k32["checks_passed"] is None and k32["findings_shown"] is None
    assert [k32[f"x.{s}"] for s in stats] == [4.0, 0.0, 4.0, 4.0]
    with open(csv_path, newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == columns and [r["data.K"] for r in table] == ["16", "32"]
    assert float(table[0]["x.std"]) == pytest.approx(np.sqrt(7)) and table[1]["checks_passed"] == ""
    md = (tmp_path / "summary.md").read_text().splitlines()
    means = ["flag.mean", "nested.loss.0.mean", "nested.loss.1.mean", "x.mean"]
    assert md[0] == "| " + " | ".join(columns[:4] + means) + " |"
    assert md[2] == "| 16 | 3 | 0.75 | 0.3333 | 0.6667 | 1 | 2 | 3 |"
    assert md[3] == "| 32 | 1 | — | — | 0 | 3 | 3 | 4 |"


# ------------------------------------------------------------------------------------------ resume
@pytest.fixture
def fake_symbolic():
    """linear-attention-symbolic with its ``run`` replaced by a fast one: the outcome is {"trials": T} with
    one passing check; the first call with trials = 2 raises. Yields the list of trials run."""
    exp = EXPERIMENTS["linear-attention-symbolic"]
    calls = []

    def run(cfg, ctx):
        calls.append(cfg.trials)
        if cfg.trials == 2 and calls.count(2) == 1:
            raise RuntimeError("flaky")
        return Outcome({"trials": cfg.trials}, {}, (Check.value("ok", 1.0, 1.0, 0.1, "test"),))

    with swapped(exp, run=run):
        yield calls


def test_a_planned_cell_without_training_runs_is_finished_at_once(tmp_path):
    """A classification experiment whose plan has no training runs for a cell (replaced here): the cell is
    finished with an empty list of results and saved, without waiting for jobs."""
    exp = get("induction-head-curves")
    finished = []

    def finish(cfg, runs, ctx):
        finished.append(list(runs))
        return Outcome({"runs": len(runs)}, {}, (Check.value("ok", 1.0, 1.0, 0.1, "test"),))

    with swapped(exp, plan=lambda cfg: [], finish=finish):
        rep = run_sweep(tiny_sweep(tmp_path))
    assert finished == [[]] * 4 and len(rep.done_now) == 4 and rep.failed == {}
    assert len(list((rep.folder / "cells").iterdir())) == 4


def test_the_standard_deviation_over_two_seeds_is_the_sample_one(tmp_path):
    """Two seeds of one point, x = 1 and 4: std with ddof = 1 is |4 − 1|/√2 (one seed alone gives 0)."""
    for name, seed, x in (("a", 0, 1.0), ("b", 1, 4.0)):
        metrics = {"cell": {"data.K": "16"}, "seed": seed, "x": x, "checks": []}
        write_run(tmp_path / "cells" / name, "induction-head-curves", "quick", {}, metrics, {})
    write_summary(tmp_path)
    (row,) = json.loads((tmp_path / "summary.json").read_text())
    assert row["seeds"] == 2 and row["x.std"] == pytest.approx(3 / np.sqrt(2), rel=1e-12)


def test_training_runs_share_a_task_only_when_asked(tmp_path, monkeypatch):
    """batch_runs is 1 unless given, in run_sweep and in the command (``--batch-runs``, "default 1"): the
    planned runs of a classification sweep reach the executor one per task."""
    import simulations.interfaces.sweep as sweep_module

    seen = []
    monkeypatch.setattr(
        sweep_module, "_run_planned", lambda sw, todo, cfgs, ex, batch_runs, tick: seen.append(batch_runs)
    )
    run_sweep(tiny_sweep(tmp_path / "a"))
    run_sweep(tiny_sweep(tmp_path / "b"), batch_runs=3)
    assert seen == [1, 3]
    assert cli._parser().parse_args(["sweep", "induction-head-curves"]).batch_runs == 1


def test_a_grid_value_may_hold_an_equals_sign():
    """parse_grid splits each option at its first '=': the field is what precedes it, and the values keep
    any later '=' (a string value may hold one)."""
    base = get("induction-head-curves").config("quick")
    assert parse_grid(["data.bursty_sampling=a=b,c"], base) == {"data.bursty_sampling": ["a=b", "c"]}


def test_a_rerun_skips_finished_cells_and_retries_the_failed_one(tmp_path, fake_symbolic):
    """Run, rerun, rerun: a failed cell is recorded in failed/ and retried next time (its record removed once
    it succeeds); finished cells are skipped and never recomputed."""
    exp = EXPERIMENTS["linear-attention-symbolic"]
    sw = Sweep(exp, "quick", (), parse_grid(["trials=1,2"], exp.config("quick")), (0,), tmp_path)
    one, two = (c.id for c in sw.cells())
    first = run_sweep(sw)
    assert (first.total, first.done_now, first.skipped, first.failed) == (
        2,
        [one],
        [],
        {two: "RuntimeError: flaky"},
    )
    assert [p.name for p in (sw.folder / "failed").iterdir()] == [f"{two}.json"]
    second = run_sweep(sw)
    assert (second.done_now, second.skipped, second.failed) == ([two], [one], {})
    assert list((sw.folder / "failed").iterdir()) == []
    third = run_sweep(sw)
    assert (third.done_now, third.skipped, third.failed) == ([], [one, two], {})
    assert fake_symbolic == [1, 2, 2]  # nothing run twice once finished
    assert sorted(p.name for p in (sw.folder / "cells").iterdir()) == sorted([one, two])
    rows = json.loads((sw.folder / "summary.json").read_text())
    assert [(r["trials"], r["seeds"], r["checks_passed"]) for r in rows] == [("1", 1, 1.0), ("2", 1, 1.0)]


# ------------------------------------------------------------------------------------------ the command
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--seeds", "-1"], "--seeds expects integers >= 0, got '-1'"),
        (["--seeds", ","], "--seeds expects integers >= 0, got ','"),
        (["--seeds", "0,x"], "--seeds expects integers separated by commas, got '0,x'"),
        (["--grid", "data.K=16,abc"], "config field 'data.K' expects an integer, got 'abc'"),
        (["--grid", "data.K"], "--grid expects field=v1,v2,..., got 'data.K'"),
        (["--set", "data.K=0"], "config field 'K' must be >= 1"),
    ],
)
def test_bad_sweep_input_is_an_error_before_any_work(options, message, tmp_path, capsys):
    """Exit status 2 with a message naming the option or field and its rule; every cell's config is checked
    before anything is written (no sweep folder)."""
    assert (
        cli.main(["sweep", "induction-head-curves", "--out", str(tmp_path), "--workers", "1", *options]) == 2
    )
    assert message in capsys.readouterr().err
    assert not (tmp_path / "induction-head-curves").exists()


def test_grid_options_are_added_to_the_grid_file(tmp_path, monkeypatch, capsys):
    """docs/howto/sweep.md: --grid options given with --grid-file are added to its axes. The command prints
    the folder and the counts, and exits 1 when a cell failed (run_sweep replaced by a recorder)."""
    seen = []

    def fake_run_sweep(sweep, executor, progress, batch_runs):
        seen.append(sweep)
        cells = [c.id for c in sweep.cells()]
        return SweepReport(sweep.folder, len(cells), cells[:1], cells[1:3], {cells[3]: "RuntimeError: boom"})

    monkeypatch.setattr(cli, "run_sweep", fake_run_sweep)
    toml = tmp_path / "grid.toml"
    toml.write_text("[grid]\nK = [16, 32]\n")
    argv = ["sweep", "induction-head-curves", "--grid-file", str(toml), "--grid", "B=1,2", "--seeds", "0,3"]
    assert cli.main([*argv, "--out", str(tmp_path / "out"), "--workers", "1"]) == 1
    (sweep,) = seen
    assert sweep.grid == {"data.K": ["16", "32"], "data.B": ["1", "2"]} and sweep.seeds == (0, 3)
    out = capsys.readouterr().out.splitlines()
    seen.clear()  # a --grid option on a field of the file replaces that axis (docs/howto/sweep.md)
    cli.main([*argv, "--grid", "K=64", "--out", str(tmp_path / "out"), "--workers", "1"])
    assert seen[0].grid == {"data.K": ["64"], "data.B": ["1", "2"]}
    failed = sweep.cells()[3].id
    assert out == [
        str(sweep.folder),
        "8 cells: 1 run now, 2 already done, 1 failed",
        f"  failed {failed}: RuntimeError: boom",
    ]


@pytest.mark.parametrize(
    "option, message",
    [
        (
            ["--seeds", "0,1,0"],
            r"seeds must not repeat \(one cell per grid point and seed\), got \[0, 1, 0\]",
        ),
        (["--grid", "trials=1,2,1"], r"grid field 'trials' must not repeat a value \(one cell per point\)"),
    ],
)
def test_a_repeated_seed_or_grid_value_is_an_error_before_any_work(
    tmp_path, fake_symbolic, capsys, option, message
):
    """One saved cell per (grid point, seed): a seed or a grid value given twice would name one cell twice
    (the command once counted "2 cells: 2 run now" and saved one). It is refused with exit status 2 and a
    message naming the option and the rule, and nothing is written."""
    rc = cli.main(["sweep", "linear-attention-symbolic", "--out", str(tmp_path), "--workers", "1", *option])
    assert rc == 2
    assert re.search(message, capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []
