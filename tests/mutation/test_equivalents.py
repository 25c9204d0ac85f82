"""The list of equivalent mutants (tests/mutation/equivalent.json) names mutants that exist, on the lines
whose reasons it gives.

Its keys are ``path:line:col:before->after``, each entry the source line and the reason. An edit above a
listed line moves it, and a stale key no longer matches its mutant, which then reads as a survivor without
its reason (this happened: seven keys had gone stale). An edit of the line itself may leave a mutant at the
same place whose reason no longer holds. So every key of the current layout must name a mutant of the
current code, on a line that reads as stored; ``python tests/mutation/mutate.py --remap-equivalents``
moves keys whose lines only moved.
"""

import ast
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mutate  # noqa: E402

ROOT = HERE.parents[1]


def _listed():
    return json.loads((HERE / "equivalent.json").read_text())["current"]


def test_every_equivalent_mutant_is_in_the_current_population_on_its_stored_line():
    ids = set()
    for layer, rel, region in mutate.target_files(ROOT, "current"):
        ids.update(m.id for m in mutate.mutants_of((ROOT / rel).read_text(), rel, layer, region))
    listed = _listed()
    stale = sorted(set(listed) - ids)
    assert stale == [], f"{stale}: run python tests/mutation/mutate.py --remap-equivalents"
    for key, entry in listed.items():
        path, line = key.split(":")[:2]
        assert (ROOT / path).read_text().splitlines()[int(line) - 1] == entry["line"], key
        assert entry["why"].strip(), key


def _one_statement_entry():
    """A listed mutant whose line is a whole statement (so it can be indented into a block)."""
    for key, entry in _listed().items():
        try:
            ast.parse(entry["line"].strip())
        except SyntaxError:
            continue
        return key, entry
    raise AssertionError("no listed line is a whole statement")


def _tree_with(tmp_path, monkeypatch, key, entry, edit):
    """A copy of the package with ``edit(lines, i)`` applied around the listed line i, and equivalent.json
    holding that one entry."""
    path = key.split(":")[0]
    shutil.copytree(ROOT / "theory", tmp_path / "theory")
    shutil.copytree(ROOT / "simulations", tmp_path / "simulations")
    lines = (tmp_path / path).read_text().splitlines(keepends=True)
    i = int(key.split(":")[1]) - 1
    assert lines[i].rstrip("\n") == entry["line"]
    edit(lines, i)
    (tmp_path / path).write_text("".join(lines))
    eq = tmp_path / "equivalent.json"
    eq.write_text(json.dumps({"current": {key: entry}}))
    monkeypatch.setattr(mutate, "EQUIVALENT", eq)
    return eq


def _indent(line):
    return line[: len(line) - len(line.lstrip())]


def test_remap_moves_a_key_after_its_line(tmp_path, monkeypatch):
    """Two statements inserted above a listed line: the key moves down 2 lines, the entry is unchanged."""
    key, entry = _one_statement_entry()
    path, line, col, change = key.split(":", 3)

    def insert(lines, i):
        lines[i:i] = [_indent(lines[i]) + "x = 1\n", _indent(lines[i]) + "y = 2\n"]

    eq = _tree_with(tmp_path, monkeypatch, key, entry, insert)
    assert mutate.remap_equivalents(tmp_path) == []
    assert json.loads(eq.read_text())["current"] == {f"{path}:{int(line) + 2}:{col}:{change}": entry}


def test_remap_follows_a_change_of_indentation(tmp_path, monkeypatch):
    """The listed line moved into a new ``if True:`` block: one line down, four columns right, and the
    entry keeps the line as it now reads."""
    key, entry = _one_statement_entry()
    path, line, col, change = key.split(":", 3)

    def nest(lines, i):
        lines[i : i + 1] = [_indent(lines[i]) + "if True:\n", "    " + lines[i]]

    eq = _tree_with(tmp_path, monkeypatch, key, entry, nest)
    assert mutate.remap_equivalents(tmp_path) == []
    new_key = f"{path}:{int(line) + 1}:{int(col) + 4}:{change}"
    assert json.loads(eq.read_text())["current"] == {new_key: {**entry, "line": "    " + entry["line"]}}


def test_remap_reports_a_line_it_cannot_place_and_writes_nothing(tmp_path, monkeypatch):
    """The listed line copied to the end of its file, and the original moved: two candidates, no guess."""
    key, entry = _one_statement_entry()

    def duplicate(lines, i):
        lines[i:i] = [_indent(lines[i]) + "x = 1\n"]
        lines.append("\n" + entry["line"].strip() + "\n")

    eq = _tree_with(tmp_path, monkeypatch, key, entry, duplicate)
    problems = mutate.remap_equivalents(tmp_path)
    assert len(problems) == 1 and "found 2 times" in problems[0]
    assert json.loads(eq.read_text())["current"] == {key: entry}
