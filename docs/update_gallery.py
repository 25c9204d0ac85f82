"""Copy the figures of a reproduction run into the documentation's gallery.

    python docs/update_gallery.py [RESULTS_DIR]        (default: results/reproduce)

For the newest run of each experiment under RESULTS_DIR (the folder ``icl-dynamics reproduce`` or
``icl-dynamics validate`` wrote), this copies ``figures/*.png`` to ``docs/figures/reproduce/<experiment>/``
and writes ``docs/figures/reproduce/gallery.md``, which ``docs/gallery.md`` includes. There is one section
per experiment, in catalogue order. Each has the experiment's claim, its verdict and profile, and every
figure, with the claim as its caption. The previous contents of ``docs/figures/reproduce/`` are replaced.
Nothing is recomputed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the package, also when it is not installed

from simulations.experiments.catalogue import EXPERIMENTS  # noqa: E402
from simulations.interfaces.report import counts_text, latest_runs, verdict  # noqa: E402

FRAGMENT_HEAD = """<!-- Written by docs/update_gallery.py from {source}; do not edit by hand. -->
"""

EMPTY = (
    FRAGMENT_HEAD
    + """
*No reproduction run has been copied here yet.* Run `icl-dynamics reproduce`, then
`python docs/update_gallery.py results/reproduce`, and rebuild the documentation.
"""
)


def _escape(text: str) -> str:
    """Text safe inside a MyST figure caption (no stray markup characters)."""
    return text.replace("*", r"\*").replace("_", r"\_").replace("`", r"\`").replace("|", r"\|")


def gallery_fragment(runs, dest: Path, source: str) -> str:
    """Copy every run's PNG figures under ``dest`` and return the MyST text that shows them."""
    parts = [FRAGMENT_HEAD.format(source=source)]
    if not runs:
        return EMPTY.format(source=source)
    machine = runs[0].machine or "an unrecorded machine"
    finished = max(r.finished for r in runs) or "an unrecorded time"
    counted = counts_text([c for r in runs for c in r.checks])
    parts.append(
        f"\nRun finished {finished} on {machine}: {counted}, profile "
        f"{', '.join(sorted({r.profile for r in runs}))}.\n"
    )
    for run in runs:
        exp = EXPERIMENTS.get(run.experiment)
        claim = exp.claim if exp else ""
        n_pass = sum(c["passed"] for c in run.checks)
        seconds = "" if run.seconds is None else f", {run.seconds:.0f} s"
        parts.append(f"\n## `{run.experiment}`\n")
        if claim:
            parts.append(f"\n**Claim.** {_escape(claim)}\n")
        parts.append(
            f"\n**Verdict: {verdict(run)}** ({n_pass} of {len(run.checks)} checks; profile {run.profile}"
            f"{seconds}).\n"
        )
        target = dest / run.experiment
        for png in run.figures:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(png, target / png.name)
            rel = Path(os.path.relpath(target / png.name, DOCS)).as_posix()
            caption = f"{_escape(claim)} ({png.stem})" if claim else png.stem
            parts.append(f"\n```{{figure}} {rel}\n:alt: {run.experiment}: {png.stem}\n\n{caption}\n```\n")
    return "".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "results_dir", nargs="?", default="results/reproduce", help="a reproduce or validate folder"
    )
    ap.add_argument(
        "--dest",
        default=str(DOCS / "figures" / "reproduce"),
        help="where the figures and gallery.md go (default: docs/figures/reproduce)",
    )
    args = ap.parse_args(argv)
    results = Path(args.results_dir)
    if not results.is_dir():
        print(f"update_gallery: {results} is not a folder", file=sys.stderr)
        return 2
    runs = latest_runs(results)
    if not runs:
        print(f"update_gallery: no saved runs under {results}", file=sys.stderr)
        return 2
    dest = Path(args.dest).resolve()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    text = gallery_fragment(runs, dest, results.as_posix())
    (dest / "gallery.md").write_text(text, encoding="utf-8")
    n_fig = sum(len(r.figures) for r in runs)
    print(f"{len(runs)} experiments, {n_fig} figures -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
