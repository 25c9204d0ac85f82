"""Sweeps: one grid's wall time in-process, on 2 local worker processes and on a 2-worker Dask LocalCluster
(scaling efficiency t₁ / (2 t₂)), and the measured cost of one paper-size training run, from which the
CPU-hours of every paper-profile grid follow.

    python benchmarks/bench_sweep.py [--steps 600] [--paper-steps 300]

The grid: induction-head-curves at the quick size, K ∈ {128, 512} × 3 seeds (6 cells), ``--steps`` steps each.
The paper-size cost: ``--paper-steps`` steps of the paper profile's network (batch 128, N = 8, width 128,
test sets of 10,000 evaluated every 1000 steps, one BLAS thread), extrapolated to each grid's step budget.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from simulations.executors import InProcessExecutor, dask_executor, process_executor
from simulations.experiments.catalogue import get
from simulations.induction_head import DataConfig, TrainConfig, evaluate, train
from simulations.induction_head.training import evaluation_sets
from simulations.interfaces.sweep import Sweep, parse_grid, run_sweep
from simulations.storage import write_json


def grid_time(executor, steps: int) -> float:
    exp = get("induction-head-curves")
    overrides = (f"train.steps={steps}", "train.eval_every=200", "train.eval_size=500")
    base = exp.config("quick", overrides)
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        sweep = Sweep(exp, "quick", overrides, parse_grid(["K=128,512"], base), (0, 1, 2), root)
        t0 = time.perf_counter()
        rep = run_sweep(sweep, executor)
        assert len(rep.done_now) == 6 and not rep.failed
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def paper_cost(steps: int) -> dict:
    """CPU seconds of a paper-size run: per step (sampling and SGD) from two runs of 1 and 1 + ``steps``
    steps (the same setup and two evaluations each), and one evaluation on the four test sets of 10,000."""
    data, cfg = DataConfig(p_C=0.0), TrainConfig(steps=1, eval_every=10**9, eval_size=10000)
    timings = []
    for n in (1, 1 + steps):
        t0 = time.process_time()
        res = train(data, replace(cfg, steps=n))
        timings.append(time.process_time() - t0)
    sets = evaluation_sets(data, cfg)
    t0 = time.process_time()
    evaluate(res.params, sets)
    per_eval = time.process_time() - t0
    per_step = (timings[1] - timings[0]) / steps
    run_h = (150_000 * per_step + 151 * per_eval) / 3600  # evaluation every 1000 steps, both ends included
    return {"cpu_s_per_step": per_step, "cpu_s_per_evaluation": per_eval, "cpu_h_per_150k_run": run_h}


def paper_grids(run_h: float) -> dict:
    """CPU-hours of each paper-profile grid: cells × models × seeds × one run (transition runs stop at their
    transition; counted here at the full budget, an upper bound)."""
    out = {}
    dd = get("induction-head-data-dependence").config("paper")
    out["induction-head-data-dependence"] = len(dd.points()) * len(dd.models) * len(dd.seeds) * run_h
    tr = get("induction-head-transition").config("paper")
    out["induction-head-transition (upper bound)"] = len(tr.arms()) * len(tr.models) * len(tr.seeds) * run_h
    init = get("induction-head-initial-state").config("paper")
    out["induction-head-initial-state (upper bound)"] = len(init.arms()) * len(init.seeds) * run_h
    for name in ("induction-head-curves", "induction-head-minimal"):
        out[name] = len(get(name).config("paper").seeds) * run_h
    out["induction-head-side-by-side"] = 2 * run_h
    return {k: round(v, 1) for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=600, help="training steps per cell of the timed grid")
    ap.add_argument("--paper-steps", type=int, default=300, help="steps of the paper-size cost measurement")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    ap.add_argument("--out", default="results/benchmarks/sweep.json")
    args = ap.parse_args()
    rows = {"grid": "induction-head-curves quick, K ∈ {128, 512} × seeds {0, 1, 2}", "steps": args.steps}
    rows["in_process_s"] = grid_time(InProcessExecutor(), args.steps)
    with process_executor(2) as pool:
        rows["processes_2_s"] = grid_time(pool, args.steps)
    rows["efficiency_processes_2"] = rows["in_process_s"] / (2 * rows["processes_2_s"])
    if not args.no_dask:
        with dask_executor(local_workers=2) as cluster:
            rows["dask_local_2_s"] = grid_time(cluster, args.steps)
        rows["efficiency_dask_local_2"] = rows["in_process_s"] / (2 * rows["dask_local_2_s"])
    print(
        f"6-cell grid, {args.steps} steps a cell: in-process {rows['in_process_s']:.1f} s; 2 processes "
        f"{rows['processes_2_s']:.1f} s (efficiency {rows['efficiency_processes_2']:.0%})"
        + (
            f"; Dask LocalCluster(2) {rows['dask_local_2_s']:.1f} s (efficiency "
            f"{rows['efficiency_dask_local_2']:.0%})"
            if not args.no_dask
            else ""
        )
    )
    cost = paper_cost(args.paper_steps)
    rows["paper_run"] = cost
    rows["paper_grids_cpu_hours"] = paper_grids(cost["cpu_h_per_150k_run"])
    print(
        f"paper-size run: {cost['cpu_s_per_step'] * 1e3:.1f} ms CPU a step → "
        f"{cost['cpu_h_per_150k_run']:.2f} CPU-hours per 150k-step run (evaluation every 1000 steps included)"
    )
    for name, h in rows["paper_grids_cpu_hours"].items():
        print(f"  {name:<44} {h:>8.1f} CPU-hours")
    print(f"written {write_json(args.out, rows)}")


if __name__ == "__main__":
    main()
