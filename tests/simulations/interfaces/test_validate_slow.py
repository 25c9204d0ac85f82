"""The full ``icl-dynamics validate`` run: every experiment at the quick profile (several minutes on 2 cores).

Run with ``python -m pytest -m slow``.
"""

import json
from collections import Counter

import pytest

from simulations.experiments.catalogue import EXPERIMENTS
from simulations.interfaces import cli


@pytest.mark.slow
def test_every_experiment_contributes_checks_and_all_pass(tmp_path, capsys):
    assert cli.main(["validate", "--json", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("[") :])
    per_experiment = Counter(r["experiment"] for r in rows)
    assert set(per_experiment) == set(EXPERIMENTS), "every experiment contributes checks"
    assert len({(r["experiment"], r["name"]) for r in rows}) == len(rows), "check names are unique"
    failed = [r["name"] for r in rows if not r["passed"] and r["binding"]]
    assert not failed
    # findings (the paper's claims at this setting) are reported either way; at least one is made
    assert any(r["kind"] == "finding" for r in rows)
    # every check states a reason, and no check compares a quantity with itself at zero tolerance
    assert all(r["why"] for r in rows)
    kinds = Counter(r["kind"] for r in rows)
    assert {"monte_carlo", "trajectory", "endpoint", "bound", "holds"} <= set(kinds)
