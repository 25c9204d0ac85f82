"""Experiments one after another against two lanes at once (``run_many``), on the same 2 worker processes
and in the same process: the wall time of a subset of the quick profile, and the CPU it keeps busy.

    python benchmarks/bench_lanes.py [--experiments NAME ...]

The default subset takes a few minutes: two linear-attention experiments and the nested-logit theory in the
"other" lane, two classification experiments in the "jobs" lane. Each variant gets its own empty output and
job store, so neither reuses the other's training runs. The one-after-another variant runs first, with the
colder file caches, which favours the lanes slightly.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

from simulations.executors import process_executor
from simulations.experiments.kit import Context
from simulations.experiments.runner import run_experiment, run_many
from simulations.storage import write_json

SUBSET = (
    "linear-attention-symbolic",
    "linear-attention-flow",
    "induction-head-nested-logits",
    "induction-head-curves",
    "induction-head-minimal",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiments", nargs="+", default=list(SUBSET))
    ap.add_argument("--out", default="results/benchmarks/lanes.json")
    args = ap.parse_args()
    runs = [(n, "quick") for n in args.experiments]
    root = Path(tempfile.mkdtemp(prefix="bench-lanes-"))
    rows = {}
    try:
        for variant in ("one after another", "two lanes"):
            out = root / variant.replace(" ", "-")
            # a fresh pool per variant: its worker processes' CPU counts once they exit
            with process_executor(2) as ex:
                ctx = Context(executor=ex, checkpoint_dir=out / "checkpoints")
                c0, t0 = os.times(), time.perf_counter()
                if variant == "two lanes":
                    run_many(runs, out=out, context=ctx, log=io.StringIO())
                else:
                    for name, profile in runs:
                        run_experiment(name, profile=profile, out=out, context=ctx)
            wall = time.perf_counter() - t0  # includes the pool's shutdown: its workers' CPU is then counted
            c1 = os.times()
            cpu = sum(
                getattr(c1, k) - getattr(c0, k)
                for k in ("user", "system", "children_user", "children_system")
            )
            rows[variant] = {
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "cores_busy": round(cpu / wall, 2),
            }
            print(f"{variant:>18}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, {cpu / wall:.2f} cores busy")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratio = rows["one after another"]["wall_s"] / rows["two lanes"]["wall_s"]
    rows["speed-up"] = round(ratio, 2)
    print(f"two lanes are {ratio:.2f}× faster than one after another ({', '.join(args.experiments)})")
    write_json(Path(args.out), {"experiments": args.experiments, **rows})
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
