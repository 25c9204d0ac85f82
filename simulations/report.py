"""The Markdown report of ``icl-dynamics reproduce`` and the checks table of ``validate``."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .registry import experiments
from .results import SavedRun, write_text


def check_rows(runs: list[SavedRun]) -> list[dict]:
    """Every check of every run, tagged with its experiment."""
    return [{"experiment": r.experiment, **c} for r in runs for c in r.metrics.get("checks", [])]


def format_table(rows: list[dict]) -> str:
    """Plain-text table: name, theory, simulation, discrepancy, tolerance, pass."""
    lines = [f"{'check':<78} {'theory':>11} {'simulation':>11} {'discrep.':>9} {'tol':>9}  pass"]
    for r in rows:
        lines.append(f"{r['name'][:78]:<78} {r['theory']:>11.4g} {r['simulation']:>11.4g} "
                     f"{r['discrepancy']:>9.2g} {r['tolerance']:>9.2g}  {'ok' if r['passed'] else 'FAIL'}")
    n_fail = sum(not r["passed"] for r in rows)
    lines.append(f"{len(rows) - n_fail} passed, {n_fail} failed")
    return "\n".join(lines)


def _md_table(rows):
    out = ["| experiment | check | theory | simulation | discrepancy | tolerance | pass | why |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['experiment']} | {r['name']} | {r['theory']:.4g} | {r['simulation']:.4g} | "
                   f"{r['discrepancy']:.2g} | {r['tolerance']:.2g} | {'✅' if r['passed'] else '❌'} | {r['why']} |")
    return "\n".join(out)


def write_report(out_dir: Path, runs: list[SavedRun], timings: dict[str, float], profile: str) -> Path:
    """Write ``report.md`` in ``out_dir`` linking every run's figures and listing every check."""
    exps = experiments()
    rows = check_rows(runs)
    n_fail = sum(not r["passed"] for r in rows)
    parts = [f"# icl-dynamics reproduction report ({profile} profile)", "",
             f"{len(rows) - n_fail} of {len(rows)} theory-vs-simulation checks pass.", ""]
    for run in runs:
        parts += [f"## {run.experiment}", "", exps[run.experiment].description, "",
                  f"Run directory: `{os.path.relpath(run.path, out_dir)}`; wall time {timings[run.experiment]:.1f} s.",
                  ""]
        for fig in sorted((run.path / "figures").glob("*.png")):
            parts += [f"![{fig.stem}]({os.path.relpath(fig, out_dir)})", ""]
        summary = {k: v for k, v in run.metrics.items() if k != "checks"}
        if summary:
            parts += ["<details><summary>metrics</summary>", "", "```", _short(summary), "```", "</details>", ""]
    parts += ["## All checks", "", _md_table(rows), ""]
    path = Path(out_dir) / "report.md"
    write_text(path, "\n".join(parts))
    return path


def _short(obj) -> str:
    return json.dumps(obj, indent=1, default=str)[:6000]
