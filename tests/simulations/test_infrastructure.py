"""Configs, saved runs, the registry and the command line."""
import json
from pathlib import Path

import numpy as np
import pytest

from simulations import cli, results
from simulations.config import with_overrides
from simulations.linear_regression.exp_flow import FlowVsNetworkConfig
from simulations.registry import get


def test_overrides_coerce_types_and_validate():
    cfg = with_overrides(FlowVsNetworkConfig(), ["dims=2,3", "kappa=3.5", "batch=64"])
    assert cfg.dims == (2, 3) and cfg.kappa == 3.5 and cfg.batch == 64
    with pytest.raises(ValueError, match="'sigma_factor' must lie in"):
        with_overrides(cfg, ["sigma_factor=2.5"])
    with pytest.raises(ValueError, match="unknown config field 'nope'"):
        with_overrides(cfg, ["nope=1"])
    with pytest.raises(ValueError, match="expects int"):
        with_overrides(cfg, ["batch=big"])


def test_every_experiment_profile_constructs():
    from simulations.registry import experiments
    for exp in experiments().values():
        for profile in exp.profiles:
            exp.config(profile)


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        results.save_run(tmp_path, "exp", {"a": 1}, {"checks": []}, {"x": np.ones(3)}, "quick")
    assert list((tmp_path / "exp").iterdir()) == []


def test_cli_run_plot_validate(tmp_path, capsys):
    assert cli.main(["run", "lsa-symbolic", "--out", str(tmp_path)]) == 0
    run_dir = Path(capsys.readouterr().out.splitlines()[0])
    assert {p.name for p in run_dir.iterdir()} >= {"config.json", "metrics.json", "arrays.npz", "figures"}
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["experiment"] == "lsa-symbolic" and cfg["config"]["trials"] == 5
    assert cli.main(["plot", str(run_dir)]) == 0
    assert cli.main(["validate", "--json", "--only", "lsa-symbolic", "--out", str(tmp_path / "v")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["passed"] for r in rows)
    assert any("1e-12" in r["why"] or r["tolerance"] == 1e-12 for r in rows)


def test_cli_bad_input_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["run", "lsa-shifts", "--set", "d=0", "--out", str(tmp_path)]) == 2
    assert "config field 'd' must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "lsa-shifts").exists()


def test_plot_redraws_from_saved_files_only(tmp_path):
    """A saved exp-3-shaped run (tiny arrays) can be redrawn without recomputing."""
    from simulations.registry import redraw
    Ms = np.array([1, 2, 4])
    arrays = {"Ms": Ms, **{f"N5/{k}": np.linspace(1, 2, 3) for k in
                            ("formula", "mc", "mc_se", "net", "net_se", "net_formula", "ols", "ols_se")}}
    path = results.save_run(tmp_path, "lsa-risk-vs-length", {}, {"d": 2, "Ns": [5], "checks": []}, arrays, "quick")
    redraw(path)
    assert (path / "figures" / "risk_vs_length.png").stat().st_size > 1000
    assert get("lsa-risk-vs-length").name == "lsa-risk-vs-length"
