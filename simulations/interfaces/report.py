"""The report of a set of saved runs: ``report.html`` (self-contained, figures embedded) and ``report.md``.

A summary comes first (checks passed and failed per experiment, total time, profile, machine), then one
section per experiment: the paper's claim, the verdict, the figures, the checks (theory, simulation,
discrepancy, tolerance, why), the config (HTML only) and the time. Raw metrics stay in the run folders
(linked in the HTML, named in the Markdown). The report
reads saved runs only, so runs made on a cluster can be reported on a laptop (``icl-dynamics report DIR``).

Verdicts: *reproduced* when every check passes, *partly* when some fail, *not reproduced* when none passes,
*no checks* when the experiment makes none. Findings (kind ``finding``: whether a paper's claim shows at the
setting run) count in the verdict; only the other checks count as passed or failed.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from ..experiments.catalogue import EXPERIMENTS
from ..experiments.kit import is_binding
from ..storage import SavedRun, load_run, write_text


def check_rows(runs: list[SavedRun]) -> list[dict]:
    """Every check of every run, tagged with its experiment."""
    return [{"experiment": r.experiment, **c} for r in runs for c in r.checks]


def is_finding(check: dict) -> bool:
    """A saved finding (made by ``Check.finding``), not a check whose failure is a defect; read from its
    kind, which every saved check has (``binding`` came later)."""
    return not is_binding(check.get("kind", "value"))


def counts(checks: list[dict]) -> tuple[int, int, int, int]:
    """(checks passed, checks failed, findings shown, findings not shown)."""
    binding = [c["passed"] for c in checks if not is_finding(c)]
    found = [c["passed"] for c in checks if is_finding(c)]
    return sum(binding), len(binding) - sum(binding), sum(found), len(found) - sum(found)


def counts_text(checks: list[dict]) -> str:
    p, f, shown, not_shown = counts(checks)
    text = f"{p} checks passed, {f} failed"
    if shown + not_shown:
        text += f"; paper's claims at this setting: {shown} shown, {not_shown} not shown (findings)"
    return text


def _mark(check: dict) -> str:
    if is_finding(check):
        return "shown" if check["passed"] else "not shown"
    return "ok" if check["passed"] else "FAIL"


def format_table(rows: list[dict]) -> str:
    """Plain-text table: name, theory, simulation, discrepancy, tolerance, pass (findings: shown or not)."""
    lines = [f"{'check':<78} {'theory':>11} {'simulation':>11} {'discrep.':>9} {'tol':>9}  pass"]
    for r in rows:
        lines.append(
            f"{r['name'][:78]:<78} {r['theory']:>11.4g} {r['simulation']:>11.4g} "
            f"{r['discrepancy']:>9.2g} {r['tolerance']:>9.2g}  {_mark(r)}"
        )
    lines.append(counts_text(rows))
    return "\n".join(lines)


def verdict(run: SavedRun) -> str:
    """reproduced / partly / not reproduced / no checks (module docstring)."""
    checks = run.checks
    if not checks:
        return "no checks"
    n_pass = sum(c["passed"] for c in checks)
    return "reproduced" if n_pass == len(checks) else ("partly" if n_pass else "not reproduced")


def latest_runs(results_dir: Path) -> list[SavedRun]:
    """The newest run of each experiment under ``results_dir``, in catalogue order (unknown ones last)."""
    found = {}
    for cfg in sorted(Path(results_dir).glob("*/*/config.json")):
        if cfg.parent.name.startswith("."):
            continue
        run = load_run(cfg.parent)
        if run.experiment not in found or (run.finished, cfg.parent.name) > (
            found[run.experiment].finished,
            found[run.experiment].path.name,
        ):
            found[run.experiment] = run
    order = list(EXPERIMENTS) + sorted(set(found) - set(EXPERIMENTS))
    return [found[n] for n in order if n in found]


def _num(x) -> str:
    return "—" if x is None else f"{x:.4g}"


def _summary(runs, total) -> tuple[list[tuple], dict]:
    rows = []
    for r in runs:
        p, f, shown, not_shown = counts(r.checks)
        rows.append(
            (
                r.experiment,
                p,
                f,
                f"{shown} of {shown + not_shown}" if shown + not_shown else "—",
                verdict(r),
                r.seconds,
            )
        )
    head = {
        "profile": ", ".join(sorted({r.profile for r in runs})) or "—",
        "machine": runs[0].machine if runs else "—",
        "total": total if total is not None else sum(r.seconds or 0 for r in runs),
        "counts": counts_text([c for r in runs for c in r.checks]),
    }
    return rows, head


def _markdown(runs, out_dir, total) -> str:
    rows, head = _summary(runs, total)
    parts = [
        "# icl-dynamics: reproduction report",
        "",
        f"**{head['counts']}** · profile {head['profile']} · {head['total']:.0f} s · {head['machine']}",
        "",
        "| experiment | checks passed | checks failed | findings shown | verdict | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    parts += [f"| [{e}](#{e}) | {p} | {f} | {g} | {v} | {_num(s)} |" for e, p, f, g, v, s in rows]
    for r in runs:
        exp = EXPERIMENTS.get(r.experiment)
        parts += [
            "",
            f"## {r.experiment}",
            "",
            f"**Claim.** {exp.claim if exp else '—'}",
            "",
            f"**Verdict: {verdict(r)}** ({sum(c['passed'] for c in r.checks)} of {len(r.checks)} checks); "
            f"profile {r.profile}; {_num(r.seconds)} s; run folder `{os.path.relpath(r.path, out_dir)}` "
            "(config.json, metrics.json, arrays.npz).",
            "",
        ]
        parts += [f"![{f.stem}]({os.path.relpath(f, out_dir)})" for f in r.figures]
        if r.checks:
            parts += [
                "",
                "| check | theory | simulation | discrepancy | tolerance | pass | why |",
                "|---|---|---|---|---|---|---|",
            ]
            parts += [
                f"| {c['name']} | {_num(c['theory'])} | {_num(c['simulation'])} | {_num(c['discrepancy'])} | "
                f"{_num(c['tolerance'])} | {('✅ ' if c['passed'] else '❌ ') + _mark(c)} | {c['why']}"
                f"{'; ' + c['detail'] if c.get('detail') else ''} |"
                for c in r.checks
            ]
    return "\n".join(parts) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}.pass{color:#009E73}.fail{color:#D55E00;font-weight:bold}img{max-width:100%}
.verdict{font-weight:bold}code{background:#f6f6f6}"""


def _html(runs, out_dir, total) -> str:
    rows, head = _summary(runs, total)
    esc = html.escape
    body = [
        f"<h1>icl-dynamics: reproduction report</h1><p><b>{esc(head['counts'])}</b> · profile "
        f"{esc(head['profile'])} · {head['total']:.0f} s · {esc(head['machine'])}</p>",
        "<table><tr><th>experiment</th><th>checks passed</th><th>checks failed</th><th>findings shown</th>"
        "<th>verdict</th><th>time (s)</th></tr>",
    ]
    body += [
        f"<tr><td><a href='#{esc(e)}'>{esc(e)}</a></td><td>{p}</td><td>{f}</td><td>{g}</td><td>{esc(v)}</td>"
        f"<td>{_num(s)}</td></tr>"
        for e, p, f, g, v, s in rows
    ]
    body.append("</table>")
    for r in runs:
        exp = EXPERIMENTS.get(r.experiment)
        body.append(
            f"<section id='{esc(r.experiment)}'><h2>{esc(r.experiment)}</h2>"
            f"<p><b>Claim.</b> {esc(exp.claim if exp else '—')}</p>"
            f"<p class='verdict'>Verdict: {esc(verdict(r))} ({sum(c['passed'] for c in r.checks)} of "
            f"{len(r.checks)} checks)</p><p>profile {esc(r.profile)}; {_num(r.seconds)} s; run folder "
            f"<a href='{esc(os.path.relpath(r.path, out_dir))}'>{esc(os.path.relpath(r.path, out_dir))}</a>"
            "</p>"
        )
        for f in r.figures:
            data = base64.b64encode(f.read_bytes()).decode("ascii")
            body.append(
                f"<figure><img alt='{esc(f.stem)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{esc(f.stem)}</figcaption></figure>"
            )
        if r.checks:
            body.append(
                "<table><tr><th>check</th><th>theory</th><th>simulation</th><th>discrepancy</th>"
                "<th>tolerance</th><th>pass</th><th>why</th></tr>"
            )
            for c in r.checks:
                ok = f"<span class='{'pass' if c['passed'] else 'fail'}'>{esc(_mark(c))}</span>"
                why = esc(c["why"] + ("; " + c["detail"] if c.get("detail") else ""))
                body.append(
                    f"<tr><td>{esc(c['name'])}</td><td>{_num(c['theory'])}</td><td>{_num(c['simulation'])}"
                    f"</td><td>{_num(c['discrepancy'])}</td><td>{_num(c['tolerance'])}</td><td>{ok}</td>"
                    f"<td>{why}</td></tr>"
                )
            body.append("</table>")
        body.append(
            "<details><summary>config</summary><pre>" + esc(_config_text(r.config)) + "</pre></details>"
            "</section>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>icl-dynamics report</title>"
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def _config_text(config: dict, indent: str = "") -> str:
    lines = []
    for k, v in config.items():
        if isinstance(v, dict):
            lines.append(f"{indent}{k}:")
            lines.append(_config_text(v, indent + "  "))
        else:
            lines.append(f"{indent}{k} = {v}")
    return "\n".join(lines)


def write_report(out_dir, runs: list[SavedRun] | None = None, total: float | None = None):
    """Write ``report.html`` and ``report.md`` in ``out_dir`` from ``runs`` (default: the newest saved run of
    each experiment under ``out_dir``). Returns the two paths."""
    out_dir = Path(out_dir)
    runs = latest_runs(out_dir) if runs is None else runs
    if not runs:
        raise FileNotFoundError(f"no saved runs under {out_dir} (expected <experiment>/<run-id>/config.json)")
    return (
        write_text(out_dir / "report.html", _html(runs, out_dir, total)),
        write_text(out_dir / "report.md", _markdown(runs, out_dir, total)),
    )
