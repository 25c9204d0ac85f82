"""Atomic writes: the file appears whole or not at all, its folder is made, a failed write leaves nothing."""

import json

import numpy as np
import pytest

from simulations.storage import write_atomic, write_json


def test_write_json_makes_the_folder_and_converts_numpy(tmp_path):
    path = write_json(tmp_path / "a" / "b" / "r.json", {"x": np.float32(1.5), "v": np.arange(3)})
    assert json.loads(path.read_text()) == {"x": 1.5, "v": [0, 1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left beside it


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    def fail(p):
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(tmp_path / "out" / "r.txt", fail)
    assert list((tmp_path / "out").iterdir()) == []
