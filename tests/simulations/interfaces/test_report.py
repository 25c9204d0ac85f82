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
from simulations.interfaces.report import verdict, write_report
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
