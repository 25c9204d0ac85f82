"""The full ``icl-dynamics validate`` run (every experiment at the quick profile): ≈ 9 minutes on 2 cores."""
import json

import pytest

from simulations import cli


@pytest.mark.slow
def test_every_check_passes(tmp_path, capsys):
    assert cli.main(["validate", "--json", "--out", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) > 150 and all(r["passed"] for r in rows)
