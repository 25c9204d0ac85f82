"""The report of saved runs, read back with a real HTML parser.

A results folder holds tiny saved runs of four experiments (real outcomes and figures; the checks chosen so
that the four verdicts all occur), an older run and a stale hidden folder that must not be reported.
``write_report`` and ``icl-dynamics report`` write ``report.html`` and ``report.md``; the HTML is parsed with
``html.parser.HTMLParser`` into a tree and checked: well formed, summary table first, one section per
experiment with its claim and verdict, every figure embedded as a PNG that decodes, nothing external.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import re
import shutil
import struct
import time
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from simulations.config import to_dict
from simulations.experiments.catalogue import EXPERIMENTS
from simulations.experiments.kit import Check, Context
from simulations.interfaces import cli
from simulations.interfaces.report import counts_text, format_table, latest_runs, verdict, write_report
from simulations.storage import load_run, write_run
from tests.tiny import TINY_DATA

pytestmark = pytest.mark.filterwarnings(
    "ignore::simulations.linear_attention.training.AveragingWindowWarning"
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY = {
    "linear-attention-random-init": ("d=2", "N=5", "seeds=0,1", "time=2", "batch=8"),
    "linear-attention-risk": ("d=2", "Ns=3,5", "Ms=1,4", "n_mc=100", "batch=16", "average_steps=10"),
    "induction-head-curves": (*TINY_DATA, "seeds=0,1"),
}
PASS = Check.value("a passing check", 1.0, 1.0, 0.1, "test: equal sides")
FAIL = Check.value("a failing check", 0.0, 1.0, 0.1, "test: sides 1 apart, tolerance 0.1")
SHOWN = Check.finding("a claim that shows", True, "test: a finding that holds")
NOT_SHOWN = Check.finding("a claim that does not show", False, "test: a finding that does not hold")


def split(checks) -> tuple[int, int, int, int]:
    """Written out here: (binding passed, binding failed, findings shown, findings not shown)."""
    binding = [c for c in checks if c["kind"] != "finding"]
    found = [c for c in checks if c["kind"] == "finding"]
    p, s = sum(c["passed"] for c in binding), sum(c["passed"] for c in found)
    return p, len(binding) - p, s, len(found) - s


def mark(c) -> str:
    if c["kind"] == "finding":
        return "shown" if c["passed"] else "not shown"
    return "ok" if c["passed"] else "FAIL"


# experiment -> the verdict its saved checks give (report.py: every check passes / some / none / none made)
VERDICTS = {
    "linear-attention-symbolic": "no checks",
    "linear-attention-random-init": "reproduced",
    "linear-attention-risk": "partly",
    "induction-head-curves": "not reproduced",
}


def save(root: Path, name: str, run_id: str, cfg, metrics: dict, arrays: dict, seconds: float, draw=True):
    exp = EXPERIMENTS[name]
    return write_run(
        root / name / run_id,
        name,
        "quick",
        to_dict(cfg),
        metrics,
        arrays,
        draw=(lambda run: exp.plot(run, run.path / "figures")) if draw else None,
        seconds=seconds,
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A results folder: the newest run of four experiments, an older run and a stale hidden folder."""
    root = tmp_path_factory.mktemp("results")
    outcomes = {}
    for name, overrides in TINY.items():
        cfg = EXPERIMENTS[name].config("quick", overrides)
        t0 = time.perf_counter()
        outcomes[name] = (cfg, EXPERIMENTS[name].execute(cfg, Context()), time.perf_counter() - t0)

    cfg, out, sec = outcomes["linear-attention-random-init"]
    older = {**out.summary, "checks": [FAIL.as_dict()]}
    old = save(root, "linear-attention-random-init", "20000101-000000-1", cfg, older, out.arrays, sec, False)
    head = json.loads((old.path / "config.json").read_text())
    (old.path / "config.json").write_text(json.dumps({**head, "finished": "2000-01-01 00:00:00"}))
    passing = {**out.summary, "checks": [PASS.as_dict(), PASS.as_dict()]}
    save(root, "linear-attention-random-init", "run", cfg, passing, out.arrays, sec)

    cfg, out, sec = outcomes["linear-attention-risk"]  # its real checks, one pass, one fail, two findings
    checks = [c.as_dict() for c in out.checks] + [x.as_dict() for x in (PASS, FAIL, SHOWN, NOT_SHOWN)]
    save(root, "linear-attention-risk", "run", cfg, {**out.summary, "checks": checks}, out.arrays, sec)

    cfg, out, sec = outcomes["induction-head-curves"]  # its failing real checks (40 steps), and one more
    checks = [c.as_dict() for c in out.checks if not c.passed] + [FAIL.as_dict()]
    save(root, "induction-head-curves", "run", cfg, {**out.summary, "checks": checks}, out.arrays, sec)

    cfg = EXPERIMENTS["linear-attention-symbolic"].config("quick")  # its outcome's shape: checks only
    save(root, "linear-attention-symbolic", "run", cfg, {"checks": []}, {}, 0.5)

    stale = root / "linear-attention-shifts" / ".tmp-killed"  # a run a killed process left half-written
    shutil.copytree(root / "linear-attention-risk" / "run", stale)
    head = json.loads((stale / "config.json").read_text())
    (stale / "config.json").write_text(json.dumps({**head, "experiment": "linear-attention-shifts"}))
    return root


# ------------------------------------------------------------------------------------------ HTML tree
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict
    children: list = dataclasses.field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None):
        for c in self.children:
            if isinstance(c, Node):
                if tag is None or c.tag == tag:
                    yield c
                yield from c.iter(tag)

    def find(self, tag: str) -> list[Node]:
        return list(self.iter(tag))


class TreeBuilder(HTMLParser):
    """A document tree from the stdlib parser; every end tag must close the element open last."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.order: list[Node] = []  # elements in document order
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        self.order.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        self.order.append(node)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.stack[-1].tag != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(path: Path) -> TreeBuilder:
    tb = TreeBuilder()
    tb.feed(path.read_text(encoding="utf-8"))
    tb.close()
    assert tb.errors == [] and tb.stack == [tb.root], "report.html is not well formed"
    return tb


def cells(tr: Node) -> list[str]:
    return [td.text().strip() for td in tr.children if isinstance(td, Node) and td.tag in ("td", "th")]


def png_size(data: bytes) -> tuple[int, int]:
    """(height, width) from the PNG header (IHDR is the first chunk)."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return height, width


# ------------------------------------------------------------------------------------------ the report
@pytest.fixture(scope="module")
def report(results):
    """The report written by write_report from the results folder alone, parsed."""
    html, md = write_report(results)
    assert (html, md) == (results / "report.html", results / "report.md")
    return parse(html)


def reported_runs(results) -> dict:
    return {name: load_run(results / name / "run") for name in VERDICTS}


def test_one_section_per_saved_experiment_in_catalogue_order(report):
    sections = report.root.find("section")
    names = [n for n in EXPERIMENTS if n in VERDICTS]
    assert [s.attrs.get("id") for s in sections] == names  # no older run, no hidden folder
    for s in sections:
        assert s.find("h2")[0].text() == s.attrs["id"]


def test_summary_table_first_with_counts_and_verdicts(report, results):
    runs = reported_runs(results)
    first_table = report.order.index(report.root.find("table")[0])
    assert first_table < report.order.index(report.root.find("section")[0])
    table = report.root.find("table")[0]
    assert not any(t is table for s in report.root.find("section") for t in s.find("table"))
    rows = table.find("tr")
    assert cells(rows[0]) == [
        "experiment",
        "checks passed",
        "checks failed",
        "findings shown",
        "verdict",
        "time (s)",
    ]
    names = [n for n in EXPERIMENTS if n in VERDICTS]
    assert [cells(r)[0] for r in rows[1:]] == names
    total = np.zeros(4, int)
    for r in rows[1:]:
        name, passed, failed, shown, v, seconds = cells(r)
        n = split(runs[name].checks)
        assert (int(passed), int(failed)) == n[:2]
        assert shown == (f"{n[2]} of {n[2] + n[3]}" if n[2] + n[3] else "—")
        assert v == VERDICTS[name]
        assert float(seconds) == pytest.approx(runs[name].seconds, rel=1e-3)
        assert r.find("a")[0].attrs["href"] == f"#{name}"  # links to its section
        total += n
    assert total[2] >= 1 and total[3] >= 1  # the risk run's two findings, at least
    headline = report.root.find("p")[0].text()
    assert headline.startswith(
        f"{total[0]} checks passed, {total[1]} failed; paper's claims at this setting: {total[2]} shown, "
        f"{total[3]} not shown"
    )


def test_each_section_states_claim_verdict_and_checks(report, results):
    runs = reported_runs(results)
    for s in report.root.find("section"):
        name, run = s.attrs["id"], runs[s.attrs["id"]]
        paras = [p.text() for p in s.find("p")]
        assert f"Claim. {EXPERIMENTS[name].claim}" in paras
        (v,) = [p for p in s.find("p") if p.attrs.get("class") == "verdict"]
        n_pass = sum(c["passed"] for c in run.checks)
        assert v.text() == f"Verdict: {VERDICTS[name]} ({n_pass} of {len(run.checks)} checks)"
        assert verdict(run) == VERDICTS[name]
        tables = s.find("table")
        if not run.checks:
            assert tables == []
            continue
        (table,) = tables
        rows = [cells(r) for r in table.find("tr")[1:]]
        assert [r[0] for r in rows] == [c["name"] for c in run.checks]
        assert [r[5] for r in rows] == [mark(c) for c in run.checks]
        assert [r[6].split("; ")[0] for r in rows] == [c["why"].split("; ")[0] for c in run.checks]
        config = s.find("pre")[0].text()
        assert all(f"{k} = " in config for k, v in run.config.items() if not isinstance(v, dict))


def test_verdict_rules():
    """reproduced: every check passes; partly: some do; not reproduced: none does; no checks: none made."""

    @dataclasses.dataclass
    class Checks:
        checks: list

    assert verdict(Checks([PASS.as_dict(), PASS.as_dict()])) == "reproduced"
    assert verdict(Checks([PASS.as_dict(), FAIL.as_dict()])) == "partly"
    assert verdict(Checks([FAIL.as_dict(), FAIL.as_dict()])) == "not reproduced"
    assert verdict(Checks([])) == "no checks"


def test_every_figure_is_embedded_as_a_png_that_decodes(report, results):
    runs = reported_runs(results)
    n_img = 0
    for s in report.root.find("section"):
        run = runs[s.attrs["id"]]
        imgs = s.find("img")
        assert [i.attrs["alt"] for i in imgs] == [f.stem for f in run.figures]  # every PNG figure, once
        for img, fig in zip(imgs, run.figures, strict=True):
            src = img.attrs["src"]
            prefix = "data:image/png;base64,"
            assert src.startswith(prefix)
            data = base64.b64decode(src[len(prefix) :], validate=True)
            assert data.startswith(PNG_SIGNATURE)
            assert data == fig.read_bytes()
            arr = matplotlib.image.imread(io.BytesIO(data), format="png")
            assert arr.ndim == 3 and arr.shape[2] in (3, 4)
            assert arr.shape[:2] == png_size(data) == matplotlib.image.imread(fig).shape[:2]
            assert np.isfinite(arr).all() and arr.std() > 0  # a picture, not a blank
            n_img += 1
    assert n_img == len(report.root.find("img")) == sum(len(r.figures) for r in runs.values()) == 5


def test_nothing_external_is_referenced(report, results):
    assert report.root.find("script") == [] and report.root.find("link") == []
    for node in report.order:
        for attr in ("src", "href"):
            value = (node.attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "file:")), value
    style = "".join(s.text() for s in report.root.find("style"))
    assert "url(" not in style and "@import" not in style
    for a in report.root.find("a"):  # the other links: sections of the report, or run folders beside it
        href = a.attrs["href"]
        if href.startswith("#"):
            assert any(s.attrs["id"] == href[1:] for s in report.root.find("section"))
        else:
            assert (results / href).is_dir() and (results / href / "metrics.json").is_file()


def test_markdown_links_each_figure_that_exists(results, report):
    md = (results / "report.md").read_text(encoding="utf-8")
    runs = reported_runs(results)
    links = re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", md)
    want = [f for r in (runs[n] for n in EXPERIMENTS if n in runs) for f in r.figures]
    assert len(want) == 5
    assert [(results / p).resolve() for _, p in links] == [f.resolve() for f in want]
    assert [alt for alt, _ in links] == [f.stem for f in want]
    for _, p in links:
        assert not os.path.isabs(p) and (results / p).is_file()
    for name, v in VERDICTS.items():
        assert f"## {name}" in md and f"**Verdict: {v}**" in md
        assert f"**Claim.** {EXPERIMENTS[name].claim}" in md
        p, f, s, n = split(runs[name].checks)
        shown = f"{s} of {s + n}" if s + n else "—"
        assert f"| [{name}](#{name}) | {p} | {f} | {shown} | {v} |" in md
    assert "linear-attention-shifts" not in md


def test_cli_report_writes_the_same_files_from_saved_runs_only(results, report, capsys):
    before = {p: (results / p).read_bytes() for p in ("report.html", "report.md")}
    assert cli.main(["report", str(results)]) == 0
    assert capsys.readouterr().out.split() == [str(results / "report.html"), str(results / "report.md")]
    assert {p: (results / p).read_bytes() for p in before} == before
    parse(results / "report.html")


def test_cli_report_of_an_empty_folder_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "no saved runs" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_report_of_given_runs_with_a_total_time(results, tmp_path):
    runs = [load_run(results / "linear-attention-risk" / "run")]
    html, md = write_report(tmp_path, runs=runs, total=12.3)
    tb = parse(html)
    assert [s.attrs["id"] for s in tb.root.find("section")] == ["linear-attention-risk"]
    assert " · 12 s · " in tb.root.find("p")[0].text()
    assert "· 12 s ·" in md.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ hand-built runs
def hand_built(root: Path, name: str, run_id: str, checks=(), config=None, **head):
    """A saved run with the given checks and no figures; ``head`` overrides fields of its config.json
    (profile, seconds, finished, machine) as a run made elsewhere would have them."""
    run = write_run(root / name / run_id, name, "quick", config or {}, {"checks": list(checks)}, {})
    path = run.path / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **head}))
    return load_run(run.path)


def test_counts_text_mentions_findings_only_when_there_are_some():
    """Written out from report.py's docstring: binding checks as passed/failed; findings, when any, as shown
    and not shown."""
    assert counts_text([PASS.as_dict(), FAIL.as_dict(), FAIL.as_dict()]) == "1 checks passed, 2 failed"
    assert counts_text([]) == "0 checks passed, 0 failed"
    assert counts_text([PASS.as_dict(), SHOWN.as_dict(), NOT_SHOWN.as_dict(), NOT_SHOWN.as_dict()]) == (
        "1 checks passed, 0 failed; paper's claims at this setting: 1 shown, 2 not shown (findings)"
    )


def test_findings_count_in_the_verdict():
    """Module docstring: findings count in the verdict (a shown finding passes, a finding not shown fails),
    though not as checks passed or failed."""

    @dataclasses.dataclass
    class Checks:
        checks: list

    assert verdict(Checks([SHOWN.as_dict()])) == "reproduced"
    assert verdict(Checks([PASS.as_dict(), SHOWN.as_dict()])) == "reproduced"
    assert verdict(Checks([PASS.as_dict(), NOT_SHOWN.as_dict()])) == "partly"
    assert verdict(Checks([FAIL.as_dict(), SHOWN.as_dict()])) == "partly"
    assert verdict(Checks([NOT_SHOWN.as_dict()])) == "not reproduced"


def test_newest_run_is_the_last_finished_then_the_last_run_id(tmp_path):
    """latest_runs: the newest run is the one finished last, whatever its folder's name; between runs
    finished in the same second, the one whose run id sorts last."""
    name = "linear-attention-risk"
    # made in the other order, and named against it: neither creation nor name order picks the newer run
    hand_built(tmp_path, name, "a-newer", [PASS.as_dict()], finished="2002-01-01 00:00:00")
    hand_built(tmp_path, name, "b-older", [FAIL.as_dict()], finished="2001-01-01 00:00:00")
    (run,) = latest_runs(tmp_path)
    assert run.path.name == "a-newer"
    other = "linear-attention-symbolic"
    for run_id in ("x3", "x1", "x2"):  # the last made is not the last by id
        hand_built(tmp_path, other, run_id, finished="2003-01-01 00:00:00")
    assert [r.path.name for r in latest_runs(tmp_path)] == ["x3", "a-newer"]  # catalogue order


def test_unknown_experiments_are_reported_last_in_name_order_without_a_claim(tmp_path):
    """latest_runs: catalogue order first (symbolic before risk there, unlike in the alphabet), then
    experiments the catalogue does not know, sorted by name; their claim is shown as '—'."""
    for name in ("zz-unknown-b", "linear-attention-risk", "zz-unknown-a", "linear-attention-symbolic"):
        hand_built(tmp_path, name, "run", [PASS.as_dict()])
    order = ["linear-attention-symbolic", "linear-attention-risk", "zz-unknown-a", "zz-unknown-b"]
    assert [r.experiment for r in latest_runs(tmp_path)] == order
    html, md = write_report(tmp_path)
    assert [s.attrs["id"] for s in parse(html).root.find("section")] == order
    text = md.read_text(encoding="utf-8")
    assert "## zz-unknown-a\n\n**Claim.** —\n" in text and "## zz-unknown-b\n\n**Claim.** —\n" in text


def test_headline_gives_every_profile_the_summed_time_and_the_machine(tmp_path):
    """The summary line: all counts, the profiles (sorted, each once), the total time (the sum of the runs'
    seconds unless a total is given, a run without a time counting 0) and the first run's machine."""
    sym, risk, flow = "linear-attention-symbolic", "linear-attention-risk", "linear-attention-flow"
    runs = [
        hand_built(tmp_path, sym, "r", [PASS.as_dict()], seconds=2.4, machine="machine A"),  # quick first
        hand_built(tmp_path, risk, "r", [FAIL.as_dict(), SHOWN.as_dict()], seconds=3.4, machine="machine B"),
        hand_built(tmp_path, flow, "r", [], profile="paper", seconds=None),
    ]
    counts = "1 checks passed, 1 failed; paper's claims at this setting: 1 shown, 0 not shown (findings)"
    html, md = write_report(tmp_path, runs=runs)
    head = f"{counts} · profile paper, quick · 6 s · machine A"  # 2.4 + 3.4 = 5.8 s
    assert parse(html).root.find("p")[0].text() == head
    assert f"**{counts}** · profile paper, quick · 6 s · machine A" in md.read_text(encoding="utf-8")
    html, md = write_report(tmp_path, runs=runs, total=0.0)  # a given total, even 0, is used as it is
    assert parse(html).root.find("p")[0].text() == f"{counts} · profile paper, quick · 0 s · machine A"


def test_check_rows_give_both_sides_tolerance_mark_and_detail(tmp_path):
    """Each check row, written out by hand: name, theory, simulation, discrepancy, tolerance (4 significant
    digits; '—' for a missing value), the mark and the why followed by the detail; the verdict line counts
    every check (findings included); the run folder is named relative to the report."""
    checks = [
        Check("two sides", 1.5, 2.25, 0.75, 1.0, "why two", "value", "").as_dict(),
        Check("with detail", 3.0, 7.0, 4.0, 0.5, "why detail", "value", "more context").as_dict(),
        {**SHOWN.as_dict(), "theory": None},
    ]
    run = hand_built(
        tmp_path,
        "linear-attention-risk",
        "the-run",
        checks,
        config={"d": 2, "inner": {"x": 1, "y": {"z": 3}}},
    )
    html, md = write_report(tmp_path, runs=[run])
    (section,) = parse(html).root.find("section")
    rows = [cells(r) for r in section.find("table")[0].find("tr")[1:]]
    assert rows == [
        ["two sides", "1.5", "2.25", "0.75", "1", "ok", "why two"],
        ["with detail", "3", "7", "4", "0.5", "FAIL", "why detail; more context"],
        ["a claim that shows", "—", "1", "0", "0", "shown", "test: a finding that holds"],
    ]
    (v,) = [p for p in section.find("p") if p.attrs.get("class") == "verdict"]
    assert v.text() == "Verdict: partly (2 of 3 checks)"
    assert section.find("pre")[0].text() == "d = 2\ninner:\n  x = 1\n  y:\n    z = 3"
    text = md.read_text(encoding="utf-8")
    assert (
        "**Verdict: partly** (2 of 3 checks); profile quick; — s; run folder "
        "`linear-attention-risk/the-run` (config.json, metrics.json, arrays.npz)."
    ) in text
    assert "| two sides | 1.5 | 2.25 | 0.75 | 1 | ✅ ok | why two |" in text
    assert "| with detail | 3 | 7 | 4 | 0.5 | ❌ FAIL | why detail; more context |" in text
    assert "| a claim that shows | — | 1 | 0 | 0 | ✅ shown | test: a finding that holds |" in text


def test_format_table_marks_each_row_and_ends_with_the_counts():
    """The plain-text table (printed by run, validate and reproduce): one row per check in order, name in
    the first 78 columns, the four numbers, then ok / FAIL for checks and shown / not shown for findings;
    the last line is the counts."""
    rows = [c.as_dict() for c in (PASS, FAIL, SHOWN, NOT_SHOWN)]
    lines = format_table(rows).splitlines()
    head = ["check", "theory", "simulation", "discrep.", "tol", "pass"]
    assert len(lines) == 1 + 4 + 1 and lines[0].split() == head
    want = [
        ("a passing check", ["1", "1", "0", "0.1"], "ok"),
        ("a failing check", ["0", "1", "1", "0.1"], "FAIL"),
        ("a claim that shows", ["1", "1", "0", "0"], "shown"),
        ("a claim that does not show", ["1", "0", "1", "0"], "not shown"),
    ]
    for line, (name, numbers, mark_) in zip(lines[1:5], want, strict=True):
        assert line[:78].rstrip() == name
        assert line[79:].split()[:4] == numbers and line.endswith("  " + mark_)
    assert (
        lines[-1]
        == "1 checks passed, 1 failed; paper's claims at this setting: 1 shown, 1 not shown (findings)"
    )
