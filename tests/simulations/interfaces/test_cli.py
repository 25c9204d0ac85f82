"""The command line: configs from --set, saved runs, and runs that never lose or mislabel work."""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simulations import storage
from simulations.config import leaf_fields, with_overrides
from simulations.executors import InProcessExecutor
from simulations.experiments.catalogue import EXPERIMENTS
from simulations.experiments.kit import Check
from simulations.experiments.linear_attention.flow import FlowConfig
from simulations.experiments.runner import redraw
from simulations.interfaces import cli


def unwritable_dir(tmp_path) -> Path:
    """A place no run can write: a read-only folder for a normal user; for root (who ignores permission
    bits) a path under sysfs, where the kernel refuses to create anything."""
    if os.geteuid() != 0:
        d = tmp_path / "readonly"
        d.mkdir()
        d.chmod(0o555)
        return d / "out"
    return Path("/sys/icl-dynamics-test/out")


def test_overrides_coerce_types_and_validate():
    cfg = with_overrides(FlowConfig(), ["dims=2,3", "kappa=3.5", "batch=64"])
    assert cfg.dims == (2, 3) and cfg.kappa == 3.5 and cfg.batch == 64
    with pytest.raises(ValueError, match="'sigma_factor' must lie in"):
        with_overrides(cfg, ["sigma_factor=2.5"])
    with pytest.raises(ValueError, match="unknown config field 'nope'"):
        with_overrides(cfg, ["nope=1"])
    with pytest.raises(ValueError, match="expects an integer"):
        with_overrides(cfg, ["batch=big"])
    with pytest.raises(ValueError, match="finite"):
        with_overrides(cfg, ["kappa=inf"])
    with pytest.raises(ValueError, match="did you mean 'kappa'"):
        with_overrides(cfg, ["kapa=2"])


def test_overrides_are_validated_together_in_any_order():
    """A rule across fields sees the final combination: N = 40 needs max_examples >= 81, given after it."""
    exp = EXPERIMENTS["linear-attention-nonlinear-covariate-shift"]
    for pairs in (["N=40", "model.max_examples=81"], ["model.max_examples=81", "N=40"]):
        cfg = exp.config("quick", pairs)
        assert (cfg.train.N, cfg.model.max_examples) == (40, 81)
    with pytest.raises(ValueError, match="'model.max_examples' must be >= 2N \\+ 1 = 81"):
        exp.config("quick", ["N=40"])
    # the same field twice: the last value wins
    assert exp.config("quick", ["N=10", "N=12"]).train.N == 12
    # K must be divisible by L: K = 36 with the quick L = 8 is not, with L = 12 it is
    cfg = EXPERIMENTS["induction-head-curves"].config("quick", ["K=36", "L=12"])
    assert (cfg.data.K, cfg.data.L) == (36, 12)


def test_nested_fields_by_path_and_by_bare_name():
    exp = EXPERIMENTS["induction-head-curves"]
    cfg = exp.config("quick", ["K=256", "data.B=2", "train.lr=0.02", "bursty_sampling=uniform"])
    assert (cfg.data.K, cfg.data.B, cfg.train.lr, cfg.data.bursty_sampling) == (256, 2, 0.02, "uniform")
    with pytest.raises(ValueError, match="config field 'bursty_sampling' must be 'zipf' or 'uniform'"):
        exp.config("quick", ["bursty_sampling=bad"])


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_field_of_every_profile_is_reachable_with_set(name):
    """For each profile and leaf field, --set PATH=<its value> is accepted and changes nothing."""
    exp = EXPERIMENTS[name]
    for profile in exp.profiles:
        cfg = exp.config(profile)
        for f in leaf_fields(cfg):
            text = ",".join(map(str, f.value)) if isinstance(f.value, tuple) else str(f.value)
            assert exp.config(profile, [f"{f.path}={text}"]) == cfg, f.path


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        storage.save_run(tmp_path, "exp", "quick", {"a": 1}, {"checks": []}, {"x": np.ones(3)})
    assert list((tmp_path / "exp").iterdir()) == []


def test_runs_are_readable_by_the_group(tmp_path):
    old = os.umask(0o022)
    try:
        run = storage.save_run(tmp_path, "exp", "quick", {}, {"checks": []}, {"x": np.ones(2)})
    finally:
        os.umask(old)
    assert run.path.stat().st_mode & 0o777 == 0o755
    assert (run.path / "metrics.json").stat().st_mode & 0o777 == 0o644


def test_cli_run_plot_validate(tmp_path, capsys):
    assert cli.main(["run", "linear-attention-symbolic", "--out", str(tmp_path), "--workers", "1"]) == 0
    run_dir = Path(capsys.readouterr().out.splitlines()[0])
    assert {p.name for p in run_dir.iterdir()} >= {"config.json", "metrics.json", "arrays.npz", "figures"}
    head = json.loads((run_dir / "config.json").read_text())
    assert head["experiment"] == "linear-attention-symbolic" and head["config"]["trials"] == 5
    assert head["seconds"] > 0
    assert cli.main(["plot", str(run_dir)]) == 0


def test_validate_json_reports_every_check(tmp_path, capsys):
    assert (
        cli.main(
            [
                "validate",
                "--json",
                "--only",
                "linear-attention-symbolic",
                "--out",
                str(tmp_path),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("[") :])
    assert rows and all(r["passed"] for r in rows)
    assert {r["kind"] for r in rows} >= {"holds", "value", "bound"}


def test_cli_bad_input_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["run", "linear-attention-shifts", "--set", "d=0", "--out", str(tmp_path)]) == 2
    assert "config field 'd' must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "linear-attention-shifts").exists()


def test_bad_out_is_found_before_any_work(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr("simulations.experiments.runner.save_run", lambda *a, **k: calls.append(1))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert cli.main(["run", "linear-attention-symbolic", "--out", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert cli.main(["run", "linear-attention-symbolic", "--out", str(unwritable_dir(tmp_path))]) == 2
    assert "not writable" in capsys.readouterr().err
    assert calls == []


def test_only_names_are_checked_before_anything_runs(tmp_path, capsys):
    assert (
        cli.main(
            ["validate", "--only", "linear-attention-symbolic", "--only", "nope", "--out", str(tmp_path)]
        )
        == 2
    )
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "linear-attention-symbolic").exists()


def test_an_interrupt_while_drawing_figures_leaves_no_run(tmp_path):
    """A real SIGINT delivered while the figures are drawn: no run folder under a final (or any) name."""
    script = textwrap.dedent(f"""
        import os, signal
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a background parent may ignore SIGINT
        from simulations.experiments import catalogue
        exp = catalogue.EXPERIMENTS["linear-attention-symbolic"]
        def plot(run, fig_dir):
            (fig_dir / "half.png").write_bytes(b"x")
            os.kill(os.getpid(), signal.SIGINT)
        object.__setattr__(exp, "plot", plot)
        from simulations.interfaces import cli
        cli.main(["run", "linear-attention-symbolic", "--out", {str(tmp_path)!r}, "--workers", "1"])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr
    assert list((tmp_path / "linear-attention-symbolic").iterdir()) == []


def test_plot_redraws_from_saved_files_only(tmp_path):
    """A saved risk-vs-length run (tiny arrays) is redrawn without recomputing."""
    Ms = np.array([1, 2, 4])
    arrays = {
        "Ms": Ms,
        **{
            f"N5/{k}": np.linspace(1, 2, 3)
            for k in ("formula", "mc", "mc_se", "net", "net_se", "net_formula", "ols", "ols_se")
        },
    }
    run = storage.save_run(
        tmp_path,
        "linear-attention-risk",
        "quick",
        {},
        {"d": 2, "Ns": [5], "networks": {"5": {"limit": 0.5}}, "checks": []},
        arrays,
    )
    redraw(run.path)
    assert (run.path / "figures" / "risk_vs_length.png").stat().st_size > 1000
    assert (run.path / "figures" / "risk_vs_length.svg").stat().st_size > 1000


def test_show_lists_fields_with_profiles(capsys):
    assert cli.main(["show", "induction-head-curves"]) == 0
    out = capsys.readouterr().out
    assert "data.K" in out and "paper: 512" in out and "Number of classes" in out
    assert cli.main(["show", "induction-head-curve"]) == 2
    assert "did you mean induction-head-curves" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ exit status
PASS = Check.value("a passing check", 1.0, 1.0, 0.1, "test: equal sides").as_dict()
FAIL = Check.value("a failing check", 0.0, 1.0, 0.1, "test: sides 1 apart").as_dict()
SHOWN = Check.finding("a claim that shows", True, "test: holds").as_dict()
NOT_SHOWN = Check.finding("a claim that does not show", False, "test: does not hold").as_dict()


def fake_run_many(monkeypatch, tmp_path, checks) -> list:
    """Replace the runner behind run, validate and reproduce: each (experiment, profile) asked for gives a
    hand-built saved run with ``checks``; returns the list of calls (their (experiment, profile) pairs)."""
    calls = []

    def run_many(pairs, out, context, overrides=()):
        calls.append(list(pairs))
        return [
            storage.write_run(
                tmp_path / "made" / name / f"run-{len(calls)}", name, profile, {}, {"checks": checks}, {}
            )
            for name, profile in pairs
        ]

    monkeypatch.setattr(cli, "run_many", run_many)
    return calls


def test_reproduce_reports_its_own_wall_time(tmp_path, monkeypatch):
    """reproduce's report gives the command's total time, not the sum of its runs' times: the runner
    (replaced) takes 1.2 s and returns runs that each claim 100 s; the headline's "· N s ·" (rounded to the
    second) lies between 1 and the wall time measured around the command."""
    import re
    import time

    def run_many(pairs, out, context, overrides=()):
        time.sleep(1.2)
        return [
            storage.write_run(
                tmp_path / "made" / name, name, profile, {}, {"checks": [PASS]}, {}, seconds=100.0
            )
            for name, profile in pairs
        ]

    monkeypatch.setattr(cli, "run_many", run_many)
    t0 = time.perf_counter()
    assert cli.main(["reproduce", "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    wall = time.perf_counter() - t0
    seconds = int(
        re.search(r" · (\d+) s · ", (tmp_path / "out" / "report.md").read_text(encoding="utf-8"))[1]
    )
    assert 1 <= seconds <= wall + 0.5


@pytest.mark.parametrize("command", ["run", "validate", "reproduce"])
def test_exit_status_is_1_exactly_when_a_binding_check_fails(command, tmp_path, monkeypatch, capsys):
    """cli.main: status 1 when a binding check fails; a finding that does not show is reported but never
    fails the command (kit.Check.binding); the table printed marks each check."""
    argv = {
        "run": ["run", "linear-attention-symbolic"],
        "validate": ["validate", "--only", "linear-attention-flow"],
    }
    argv = argv.get(command, [command]) + ["--out", str(tmp_path / "out"), "--workers", "1"]
    fake_run_many(monkeypatch, tmp_path / "a", [PASS, SHOWN, NOT_SHOWN])
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "not shown" in out and "FAIL" not in out
    fake_run_many(monkeypatch, tmp_path / "b", [PASS, FAIL, SHOWN])
    assert cli.main(argv) == 1
    assert "FAIL" in capsys.readouterr().out
    fake_run_many(monkeypatch, tmp_path / "c", [FAIL])
    assert cli.main(argv) == 1


def test_reproduce_runs_each_experiment_at_the_profile_if_it_has_it(tmp_path, monkeypatch, capsys):
    """reproduce --profile P: every experiment, at P where the experiment defines it and at quick
    otherwise (cli docstring of --profile); then report.html and report.md in --out. A profile no experiment
    has is an error before anything runs."""
    calls = fake_run_many(monkeypatch, tmp_path, [PASS])
    out = tmp_path / "out"
    assert cli.main(["reproduce", "--profile", "medium", "--out", str(out), "--workers", "1"]) == 0
    with_medium = {n for n, e in EXPERIMENTS.items() if "medium" in e.profiles}
    assert with_medium and with_medium != set(EXPERIMENTS)  # both cases occur
    assert calls == [[(n, "medium" if n in with_medium else "quick") for n in EXPERIMENTS]]
    printed = capsys.readouterr().out.splitlines()
    assert printed[-3:-1] == [str(out / "report.html"), str(out / "report.md")]
    assert printed[-1].startswith(f"{len(EXPERIMENTS)} checks passed, 0 failed, ")
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert cli.main(["reproduce", "--profile", "nope", "--out", str(tmp_path / "o2"), "--workers", "1"]) == 2
    assert "no experiment has a profile 'nope'" in capsys.readouterr().err
    assert len(calls) == 1 and not (tmp_path / "o2").exists()


# ------------------------------------------------------------------------------------------ executors
def test_executor_options(monkeypatch):
    """_executor: --workers 1 runs in this process, --workers N on N processes, no option on one process
    per CPU core (one core: in this process); --scheduler and --dask-local go to Dask."""
    monkeypatch.setattr(cli, "process_executor", lambda n: ("processes", n))
    monkeypatch.setattr(cli, "dask_executor", lambda **k: ("dask", k))

    def executor(workers=None, scheduler=None, dask_local=None):
        return cli._executor(argparse.Namespace(workers=workers, scheduler=scheduler, dask_local=dask_local))

    assert isinstance(executor(workers=1), InProcessExecutor)
    assert executor(workers=2) == ("processes", 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    assert executor() == ("processes", 5)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert isinstance(executor(), InProcessExecutor)
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one
    assert isinstance(executor(), InProcessExecutor)
    assert executor(scheduler="tcp://host:8786") == ("dask", {"scheduler": "tcp://host:8786"})
    assert executor(dask_local=3) == ("dask", {"local_workers": 3})


TWO_PLACES = [
    ["--workers", "2", "--scheduler", "tcp://h:1"],
    ["--workers", "1", "--dask-local", "2"],
    ["--scheduler", "tcp://h:1", "--dask-local", "2"],
]


@pytest.mark.parametrize("options", TWO_PLACES)
def test_two_places_to_run_are_an_error_before_any_work(options, tmp_path, monkeypatch, capsys):
    """At most one of --workers, --scheduler, --dask-local (exit 2, the message names all three)."""
    calls = fake_run_many(monkeypatch, tmp_path, [PASS])
    monkeypatch.setattr(cli, "process_executor", lambda n: contextlib.nullcontext(InProcessExecutor()))
    monkeypatch.setattr(cli, "dask_executor", lambda **k: contextlib.nullcontext(InProcessExecutor()))
    assert cli.main(["run", "linear-attention-symbolic", "--out", str(tmp_path / "out"), *options]) == 2
    assert "give at most one of --workers, --scheduler and --dask-local" in capsys.readouterr().err
    assert calls == []


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-3", "-3"), ("two", "'two'")])
def test_counts_of_workers_must_be_positive_integers(value, shown, capsys):
    """--workers, --dask-local and --batch-runs take integers >= 1 (argparse exit 2, naming the option)."""
    for argv in (
        ["run", "linear-attention-symbolic", "--workers", value],
        ["validate", "--dask-local", value],
        ["sweep", "induction-head-curves", "--batch-runs", value],
    ):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        assert f"{argv[-2]}: expects an integer >= 1, got {shown}" in capsys.readouterr().err
    assert cli._positive_int("1") == 1


def test_run_and_validate_ask_the_runner_for_the_right_runs(tmp_path, monkeypatch, capsys):
    """run NAME --profile P --set F=V: one run of NAME at P with the overrides, its folder printed first;
    validate: every experiment at quick, or only the --only ones in the order given."""
    calls, given = [], []

    def run_many(pairs, out, context, overrides=()):
        calls.append(list(pairs))
        given.append(list(overrides))
        made = tmp_path / "made" / str(len(calls))
        return [storage.write_run(made / n, n, p, {}, {"checks": [PASS]}, {}) for n, p in pairs]

    monkeypatch.setattr(cli, "run_many", run_many)
    out = ["--out", str(tmp_path / "out"), "--workers", "1"]
    argv = ["run", "linear-attention-symbolic", "--profile", "paper", "--set", "trials=2", "--set", "seed=3"]
    assert cli.main(argv + out) == 0
    assert calls[-1] == [("linear-attention-symbolic", "paper")] and given[-1] == ["trials=2", "seed=3"]
    assert capsys.readouterr().out.splitlines()[0] == str(
        tmp_path / "made" / "1" / "linear-attention-symbolic"
    )
    assert cli.main(["validate", *out]) == 0
    assert calls[-1] == [(n, "quick") for n in EXPERIMENTS]
    only = ["induction-head-curves", "linear-attention-flow"]
    assert cli.main(["validate", "--only", only[0], "--only", only[1], *out]) == 0
    assert calls[-1] == [(n, "quick") for n in only]


def test_help_opens_with_what_the_command_is(capsys):
    """``icl-dynamics --help``: the usage line, then the module's one-line description, written out here."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["--help"])
    assert stop.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("usage:") and lines[lines.index("") + 1] == "The icl-dynamics command line."


def test_list_names_every_experiment_with_its_profiles(capsys):
    """list: one line per catalogue experiment, in catalogue order, with its description and profiles."""
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(EXPERIMENTS)
    for line, exp in zip(lines, EXPERIMENTS.values(), strict=True):
        assert exp.description in line and line.endswith(f"[profiles: {', '.join(exp.profiles)}]")
    symbolic = lines[list(EXPERIMENTS).index("linear-attention-symbolic")]
    assert symbolic.endswith("[profiles: quick, paper]")
