"""The list of equivalent mutants (tests/mutation/equivalent.json) names mutants that exist, on the lines
whose reasons it gives.

Its keys are ``path:line:col:before->after``; each entry holds the source line, which of its identical copies
in the file it is, and the reason. An edit above a
listed line moves it, and a stale key no longer matches its mutant, which then reads as a survivor without
its reason (this happened: seven keys had gone stale). An edit of the line itself may leave a mutant at the
same place whose reason no longer holds. So every key of the current layout must name a mutant of the
current code, on a line that reads as stored (the stored copy of it); ``python tests/mutation/mutate.py
--remap-equivalents`` moves keys whose lines only moved, and reports, without writing, what it cannot place.
"""

import ast
import json
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mutate  # noqa: E402

ROOT = HERE.parents[1]


def _listed():
    return json.loads((HERE / "equivalent.json").read_text(encoding="utf-8"))["current"]


def test_every_equivalent_mutant_is_in_the_current_population_on_its_stored_line():
    ids = set()
    for layer, rel, region in mutate.target_files(ROOT, "current"):
        ids.update(
            m.id for m in mutate.mutants_of((ROOT / rel).read_text(encoding="utf-8"), rel, layer, region)
        )
    listed = _listed()
    stale = sorted(set(listed) - ids)
    assert stale == [], f"{stale}: run python tests/mutation/mutate.py --remap-equivalents"
    for key, entry in listed.items():
        path, line = key.split(":")[:2]
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        assert lines[int(line) - 1] == entry["line"], key
        index, count = entry["copy"]
        assert (
            mutate.copies_of(entry["line"], lines)[index] == int(line)
            and len(mutate.copies_of(entry["line"], lines)) == count
        ), key
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
    lines = (tmp_path / path).read_text(encoding="utf-8").splitlines(keepends=True)
    i = int(key.split(":")[1]) - 1
    assert lines[i].rstrip("\n") == entry["line"]
    edit(lines, i)
    (tmp_path / path).write_text("".join(lines), encoding="utf-8")
    eq = tmp_path / "equivalent.json"
    eq.write_text(json.dumps({"current": {key: entry}}), encoding="utf-8")
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
    assert json.loads(eq.read_text(encoding="utf-8"))["current"] == {
        f"{path}:{int(line) + 2}:{col}:{change}": entry
    }


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
    assert json.loads(eq.read_text(encoding="utf-8"))["current"] == {
        new_key: {**entry, "line": "    " + entry["line"]}
    }


def _second_of_two_copies():
    """A listed mutant on the second of two identical lines of its file."""
    return next((k, e) for k, e in _listed().items() if e["copy"] == [1, 2])


def test_remap_keeps_a_key_on_its_own_copy_of_a_repeated_line(tmp_path, monkeypatch):
    """A line that appears twice: a statement inserted above the first copy moves both, and the key of the
    second copy follows the second copy (one line down), not the first."""
    key, entry = _second_of_two_copies()
    path, line, col, change = key.split(":", 3)
    first = mutate.copies_of(entry["line"], (ROOT / path).read_text(encoding="utf-8").splitlines())[0]

    def insert_above_first(lines, i):
        lines[first - 1 : first - 1] = [_indent(lines[first - 1]) + "x = 1\n"]

    eq = _tree_with(tmp_path, monkeypatch, key, entry, insert_above_first)
    assert mutate.remap_equivalents(tmp_path) == []
    assert list(json.loads(eq.read_text(encoding="utf-8"))["current"]) == [
        f"{path}:{int(line) + 1}:{col}:{change}"
    ]


@pytest.mark.parametrize("edit, count", [("copy", 2), ("delete other", 1)])
def test_remap_reports_a_line_whose_copies_changed_and_writes_nothing(tmp_path, monkeypatch, edit, count):
    """The listed line copied to the end of its file (two candidates), or, for a line listed as the second
    of two copies, the first copy deleted (which one is left is a guess): reported, nothing written."""
    key, entry = _one_statement_entry() if edit == "copy" else _second_of_two_copies()
    path = key.split(":")[0]
    first = mutate.copies_of(entry["line"], (ROOT / path).read_text(encoding="utf-8").splitlines())[0]

    def change(lines, i):
        if edit == "copy":
            lines.append("\n" + entry["line"].strip() + "\n")
        else:
            lines[first - 1] = _indent(lines[first - 1]) + "pass\n"

    eq = _tree_with(tmp_path, monkeypatch, key, entry, change)
    problems = mutate.remap_equivalents(tmp_path)
    assert len(problems) == 1 and f"found {count} times in {path}, was {entry['copy'][1]}" in problems[0]
    assert json.loads(eq.read_text(encoding="utf-8"))["current"] == {key: entry}


@pytest.mark.parametrize("where", ["gone.py", "theory/linear_attention/flow.py", "column"])
def test_remap_reports_a_key_it_cannot_name_and_writes_nothing(tmp_path, monkeypatch, where):
    """A key in a file that does not exist, in a file that is not a mutation target (flow.py is skipped),
    or one column off its token: each is reported by name, none raises, nothing is written."""
    key, entry = _one_statement_entry()
    eq = _tree_with(tmp_path, monkeypatch, key, entry, lambda lines, i: None)
    path, line, col, change = key.split(":", 3)
    bad = f"{path}:{line}:{int(col) + 1}:{change}" if where == "column" else f"{where}:{line}:{col}:{change}"
    eq.write_text(json.dumps({"current": {bad: entry}}), encoding="utf-8")
    problems = mutate.remap_equivalents(tmp_path)
    expected = "is not a mutant of the current code" if where == "column" else "is not a mutation target"
    assert len(problems) == 1 and problems[0].startswith(bad) and expected in problems[0]
    assert json.loads(eq.read_text(encoding="utf-8"))["current"] == {bad: entry}
