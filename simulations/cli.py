"""The ``icl-dynamics`` command line: list, run, plot, validate, reproduce."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .registry import experiments, get, redraw, run_experiment
from .report import check_rows, format_table, write_report


def _run_all(profile: str, out: Path, progress: bool, names=None):
    runs, timings = [], {}
    for name in names or experiments():
        t0 = time.perf_counter()
        print(f"[icl-dynamics] {name} ({profile}) ...", file=sys.stderr, flush=True)
        runs.append(run_experiment(name, profile=profile, out=out, progress=progress))
        timings[name] = time.perf_counter() - t0
        print(f"[icl-dynamics] {name} done in {timings[name]:.1f} s -> {runs[-1].path}", file=sys.stderr)
    return runs, timings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="icl-dynamics", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments and their profiles")
    r = sub.add_parser("run", help="run one experiment and save its results and figures")
    r.add_argument("name")
    r.add_argument("--profile", default="quick", choices=["quick", "paper"])
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (repeatable); lists are comma-separated")
    r.add_argument("--out", default="results", help="results root (default: results/)")
    r.add_argument("--progress", action="store_true", help="show progress bars")
    p = sub.add_parser("plot", help="redraw a run's figures from its saved files")
    p.add_argument("run_dir")
    v = sub.add_parser("validate", help="run every theory-vs-simulation check (quick profile)")
    v.add_argument("--json", action="store_true", help="print the checks as JSON")
    v.add_argument("--out", default="results/validate")
    v.add_argument("--only", action="append", help="restrict to these experiments (repeatable)")
    rp = sub.add_parser("reproduce", help="all experiments, figures and a Markdown report in one folder")
    rp.add_argument("--profile", default="quick", choices=["quick", "paper"])
    rp.add_argument("--out", default="results/reproduce")
    rp.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)

    try:
        if args.command == "list":
            for name, exp in experiments().items():
                print(f"{name:<22} {exp.description}  [profiles: {', '.join(exp.profiles)}]")
            return 0
        if args.command == "run":
            get(args.name).config(args.profile, args.overrides)  # validate before any work
            run = run_experiment(args.name, profile=args.profile, overrides=args.overrides, out=args.out,
                                 progress=args.progress)
            print(run.path)
            rows = check_rows([run])
            if rows:
                print(format_table(rows))
            return 0 if all(c["passed"] for c in rows) else 1
        if args.command == "plot":
            run = redraw(args.run_dir)
            for f in sorted((run.path / "figures").glob("*.png")):
                print(f)
            return 0
        if args.command == "validate":
            runs, _ = _run_all("quick", Path(args.out), False, args.only)
            rows = check_rows(runs)
            print(json.dumps(rows, indent=1) if args.json else format_table(rows))
            return 0 if all(c["passed"] for c in rows) else 1
        if args.command == "reproduce":
            out = Path(args.out)
            t0 = time.perf_counter()
            runs, timings = _run_all(args.profile, out, args.progress)
            report = write_report(out, runs, timings, args.profile)
            rows = check_rows(runs)
            n_fail = sum(not c["passed"] for c in rows)
            print(f"{report}\n{len(rows) - n_fail} checks passed, {n_fail} failed, "
                  f"{time.perf_counter() - t0:.0f} s in all")
            return 0 if n_fail == 0 else 1
    except (ValueError, FileNotFoundError, FloatingPointError) as exc:
        print(f"icl-dynamics: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
