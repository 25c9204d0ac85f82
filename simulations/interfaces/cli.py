"""The icl-dynamics command line.

Commands: list, show, run, plot, validate, reproduce, report, sweep. Every option is checked before any work
starts; bad input exits with status 2 and a message naming the option or field and its rule.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from ..config import leaf_fields, resolve
from ..executors import InProcessExecutor, dask_executor, process_executor
from ..experiments.catalogue import EXPERIMENTS, get
from ..experiments.kit import Context
from ..experiments.runner import redraw, run_many
from ..storage import check_writable_dir
from .report import check_rows, counts, counts_text, format_table, write_report
from .sweep import Sweep, load_grid, parse_grid, run_sweep


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects an integer >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expects an integer >= 1, got {v}")
    return v


def _experiment_list() -> str:
    return "experiments:\n" + "\n".join(f"  {n:<34} {e.description}" for n, e in EXPERIMENTS.items())


def _add_execution(p) -> None:
    g = p.add_argument_group("where training runs execute (one of)")
    g.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="local worker processes, one BLAS thread each (default: the number of CPU cores; "
        "1 runs everything in this process)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 (needs icl-dynamics[cluster])",
    )
    g.add_argument(
        "--dask-local",
        type=_positive_int,
        metavar="N",
        help="start a Dask LocalCluster of N single-threaded workers (needs icl-dynamics[cluster])",
    )
    p.add_argument("--progress", action="store_true", help="show a progress bar over the training runs")


def _executor(args):
    chosen = [x for x in (args.workers is not None, args.scheduler, args.dask_local) if x]
    if len(chosen) > 1:
        raise ValueError("give at most one of --workers, --scheduler and --dask-local")
    if args.scheduler:
        return dask_executor(scheduler=args.scheduler)
    if args.dask_local:
        return dask_executor(local_workers=args.dask_local)
    n = args.workers if args.workers is not None else (os.cpu_count() or 1)
    return InProcessExecutor() if n == 1 else process_executor(n)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="icl-dynamics",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list the experiments and their profiles")
    s = sub.add_parser("show", help="an experiment's fields: type, quick default, other profiles, help")
    s.add_argument("name", help="experiment name (icl-dynamics list)")
    r = sub.add_parser(
        "run",
        help="run one experiment, save it with its figures, print its checks",
        epilog=_experiment_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("name", help="experiment name (listed below)")
    r.add_argument("--profile", default="quick", help="quick (default), medium where defined, or paper")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (repeatable; lists are comma-separated; icl-dynamics show NAME "
        "lists the fields)",
    )
    r.add_argument("--out", default="results", help="results folder (default: results/)")
    _add_execution(r)
    p = sub.add_parser("plot", help="redraw a saved run's figures from its files (no recomputation)")
    p.add_argument("run_dir", help="a run folder, results/<experiment>/<run-id>")
    v = sub.add_parser(
        "validate",
        help="run every experiment at the quick profile and print every check",
        epilog=_experiment_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--json", action="store_true", help="print the checks as JSON instead of a table")
    v.add_argument("--out", default="results/validate", help="results folder (default: results/validate/)")
    v.add_argument("--only", action="append", metavar="NAME", help="only these experiments (repeatable)")
    _add_execution(v)
    rp = sub.add_parser("reproduce", help="every experiment, its figures and a report (HTML and Markdown)")
    rp.add_argument(
        "--profile",
        default="quick",
        help="quick (default), medium or paper; experiments without it run their quick profile",
    )
    rp.add_argument("--out", default="results/reproduce", help="results folder (default: results/reproduce/)")
    _add_execution(rp)
    rep = sub.add_parser("report", help="write the report of saved runs (no recomputation)")
    rep.add_argument("results_dir", help="a folder holding <experiment>/<run-id>/ runs")
    sw = sub.add_parser(
        "sweep",
        help="an experiment over a grid of field values and seeds, resumable",
        description=SWEEP_HELP,
        epilog=_experiment_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sw.add_argument("name", help="experiment name (listed below)")
    sw.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2",
        help="a grid axis (repeatable); ';' separates alternatives of a list-valued field",
    )
    sw.add_argument("--grid-file", metavar="TOML", help="a TOML file whose [grid] table maps fields to lists")
    sw.add_argument("--seeds", default="0", metavar="S1,S2", help="seeds, one cell each (default: 0)")
    sw.add_argument("--profile", default="quick", help="the base profile (default quick)")
    sw.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field in every cell (repeatable)",
    )
    sw.add_argument("--out", default="results/sweeps", help="results folder (default: results/sweeps/)")
    sw.add_argument(
        "--batch-runs",
        type=_positive_int,
        default=1,
        metavar="R",
        help="train up to R same-shape runs in one task on stacked weights (default 1)",
    )
    _add_execution(sw)
    return ap


def _context(args, out: Path, executor) -> Context:
    return Context(executor=executor, progress=args.progress, checkpoint_dir=Path(out) / "checkpoints")


def _show(name: str) -> str:
    exp = get(name)
    base = exp.config("quick")
    lines = [
        f"{exp.name}: {exp.description}",
        f"claim: {exp.claim}",
        "",
        f"{'field':<26} {'type':<22} {'quick':<24} other profiles / help",
    ]
    others = {p: exp.config(p) for p in exp.profiles if p != "quick"}
    other_values = {p: {f.path: f.value for f in leaf_fields(c)} for p, c in others.items()}
    for f in leaf_fields(base):
        diff = [f"{p}: {vals[f.path]!r}" for p, vals in other_values.items() if vals[f.path] != f.value]
        extra = "; ".join(diff + ([f.help] if f.help else []))
        lines.append(f"{f.path:<26} {f.type_name:<22} {repr(f.value):<24} {extra}")
    bare = sorted({f.name for f in leaf_fields(base) if resolve(base, f.name) == f.path})
    lines += ["", "set a field with --set PATH=VALUE; these may drop their prefix: " + ", ".join(bare)]
    return "\n".join(lines)


SWEEP_HELP = """Run an experiment over a grid of config values and seeds: one saved cell per (grid point,
seed).

A rerun of the same command skips finished cells; a failed cell is reported and retried next time. Same-shape
training runs of many cells are pooled into batched tasks (--batch-runs). Examples:

  icl-dynamics sweep induction-head-curves --grid K=128,256,512 --grid B=1,2 --seeds 0,1,2 --workers 2
  icl-dynamics sweep induction-head-curves --profile paper --grid-file grid.toml --seeds 0,1,2,3,4,5 \\
      --scheduler tcp://scheduler:8786 --batch-runs 4

The summary (one row per grid point, mean/std/min/max over seeds) is written to summary.csv and summary.md in
the sweep folder. Paper-size cost (benchmarks/bench_sweep.py): one 150k-step run is 0.36–0.51 CPU-hours, so
the paper profile's grids take about 85–120 CPU-hours (data-dependence), ≤ 32–46 (transition) and 1.1–1.5
(curves); divide by the number of single-threaded workers. Details: the docs' "Run a sweep on a cluster"."""


def _sweep(args) -> int:
    exp = get(args.name)
    base = exp.config(args.profile, args.overrides)
    grid = load_grid(args.grid_file, base) if args.grid_file else {}
    grid.update(parse_grid(args.grid, base))
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--seeds expects integers separated by commas, got {args.seeds!r}") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds expects integers >= 0, got {args.seeds!r}")
    sweep = Sweep(exp, args.profile, tuple(args.overrides), grid, seeds, check_writable_dir(args.out))
    for cell in sweep.cells():
        sweep.config(cell)  # every cell's config is valid before any work starts
    with _executor(args) as executor:
        rep = run_sweep(sweep, executor, progress=args.progress, batch_runs=args.batch_runs)
    print(rep.folder)
    print(
        f"{rep.total} cells: {len(rep.done_now)} run now, {len(rep.skipped)} already done, "
        f"{len(rep.failed)} failed"
    )
    for cell_id, error in rep.failed.items():
        print(f"  failed {cell_id}: {error}")
    return 0 if not rep.failed else 1


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name, exp in EXPERIMENTS.items():
                print(f"{name:<34} {exp.description}  [profiles: {', '.join(exp.profiles)}]")
            return 0
        if args.command == "show":
            print(_show(args.name))
            return 0
        if args.command == "plot":
            run = redraw(args.run_dir)
            for f in run.figures:
                print(f)
            return 0
        if args.command == "report":
            html, md = write_report(Path(args.results_dir))
            print(f"{html}\n{md}")
            return 0
        if args.command == "sweep":
            return _sweep(args)
        # commands that compute: check everything before any work
        if args.command == "run":
            get(args.name).config(args.profile, args.overrides)
        elif args.command == "validate":
            names = [get(n).name for n in args.only] if args.only else list(EXPERIMENTS)
        else:
            names = list(EXPERIMENTS)
            if not any(args.profile in get(n).profiles for n in names):
                raise ValueError(f"no experiment has a profile {args.profile!r}")
        out = check_writable_dir(args.out)
        with contextlib.ExitStack() as stack:
            executor = stack.enter_context(_executor(args))
            ctx = _context(args, out, executor)
            t0 = time.perf_counter()
            if args.command == "run":
                runs = run_many([(args.name, args.profile)], out=out, context=ctx, overrides=args.overrides)
                print(runs[0].path)
            elif args.command == "validate":
                runs = run_many([(n, "quick") for n in names], out=out, context=ctx)
            else:  # reproduce: the profile where an experiment has it, else its quick profile
                profile = {n: args.profile if args.profile in get(n).profiles else "quick" for n in names}
                runs = run_many(list(profile.items()), out=out, context=ctx)
            rows = check_rows(runs)
            n_fail = counts(rows)[1]
            if args.command == "validate" and args.json:
                print(json.dumps(rows, indent=1))
            else:
                print(format_table(rows))
            if args.command == "reproduce":
                html, md = write_report(out, runs=runs, total=time.perf_counter() - t0)
                print(f"{html}\n{md}\n{counts_text(rows)}, {time.perf_counter() - t0:.0f} s in all")
            return 0 if n_fail == 0 else 1
    except (ValueError, FileNotFoundError, FloatingPointError, ImportError) as exc:
        print(f"icl-dynamics: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
