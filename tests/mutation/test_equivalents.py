"""The list of equivalent mutants (tests/mutation/equivalent.json) names mutants that exist.

Its keys are ``path:line:col:before->after``. An edit above a listed line moves it, and a stale key no
longer matches its mutant, which then reads as a survivor without its reason (this happened: seven keys
had gone stale). Every key of the current layout must name a mutant of the current code.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mutate  # noqa: E402


def test_every_equivalent_mutant_is_in_the_current_population():
    root = HERE.parents[1]
    ids = set()
    for layer, rel, region in mutate.target_files(root, "current"):
        ids.update(m.id for m in mutate.mutants_of((root / rel).read_text(), rel, layer, region))
    listed = json.loads((HERE / "equivalent.json").read_text())["current"]
    assert sorted(set(listed) - ids) == []
    assert all(reason.strip() for reason in listed.values())
