"""Experiments 3–4: exact finite-M risk (spec linear_attention §4–5) vs Monte Carlo, trained network and OLS."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.linear_attention import global_minimizer, predict, test_risk

from ..config import require
from ..plotting import plt, save
from ..registry import Experiment, Outcome, register
from ..results import Check
from ..seeding import stream_rng
from . import lsa
from .prompts import PromptDistribution
from .protocol import mc_risk, ols_predict, train_to_minimum

MC_WHY = "4 Monte Carlo standard errors of the mean squared error"


def _network(d, N, cfg, progress):
    net, _, info = train_to_minimum(np.eye(d), N, sigma_factor=1.0, lr_factor=1.0, batch=cfg.batch,
                                    train_gap=1e-3, average_steps=cfg.average_steps, seed=cfg.seed,
                                    progress=progress)
    return net.params_avg, info


def _net_predict(params):
    return lambda pr: lsa.predict(params, lsa.embed(pr.X, pr.y, pr.x_query))


def _theory_predict(V):
    return lambda pr: predict(V, pr.X, pr.y, pr.x_query)


def _compare(checks, label, formula, mc, se):
    checks.append(Check(label, formula, mc, abs(formula - mc), 4 * se, MC_WHY))


@dataclass(frozen=True)
class RiskVsLengthConfig:
    """Experiment 3: isotropic Λ = I_d, training lengths ``Ns``, test lengths ``Ms``, ``n_mc`` prompts each."""

    d: int = 5
    Ns: tuple[int, ...] = (10, 20, 40)
    Ms: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
    noise_var: float = 0.0
    n_mc: int = 10000
    batch: int = 512
    average_steps: int = 3000
    seed: int = 0

    def __post_init__(self):
        require(self.d >= 1, "d", "be >= 1")
        require(len(self.Ns) > 0 and min(self.Ns) >= 1, "Ns", "be a non-empty list of integers >= 1")
        require(len(self.Ms) > 0 and min(self.Ms) >= 1, "Ms", "be a non-empty list of integers >= 1")
        require(self.noise_var >= 0, "noise_var", "be >= 0")
        require(self.n_mc >= 100, "n_mc", "be >= 100")
        require(self.batch >= 1, "batch", "be >= 1")
        require(self.average_steps >= 1, "average_steps", "be >= 1")


def run_risk_vs_length(cfg: RiskVsLengthConfig, progress: bool = False) -> Outcome:
    d = cfg.d
    dist = PromptDistribution(d, noise_var=cfg.noise_var)
    checks, arrays, nets = [], {"Ms": np.array(cfg.Ms)}, {}
    for N in cfg.Ns:
        V = global_minimizer(np.eye(d), N)
        params, info = _network(d, N, cfg, progress)
        V_net = lsa.effective_matrix(params).T  # predictor convention ŷ = x_qᵀ V ĥ
        nets[N] = {"lr": info["lr"], "steps": info["steps"],
                   "rel_error": float(np.linalg.norm(V_net - V) / np.linalg.norm(V))}
        rows = {k: [] for k in ("formula", "mc", "mc_se", "net", "net_se", "net_formula", "ols", "ols_se")}
        for M in cfg.Ms:
            f = test_risk(V, M, test_cov=np.eye(d), noise_var=cfg.noise_var)
            mc, se = mc_risk(_theory_predict(V), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"mc-{N}-{M}"))
            net, net_se = mc_risk(_net_predict(params), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"net-{N}-{M}"))
            ols, ols_se = mc_risk(ols_predict, dist, M, cfg.n_mc, stream_rng(cfg.seed, f"ols-{N}-{M}"))
            fn = test_risk(V_net, M, test_cov=np.eye(d), noise_var=cfg.noise_var)
            _compare(checks, f"risk formula vs Monte Carlo (N={N}, M={M})", f, mc, se)
            _compare(checks, f"trained network vs formula at its own u·U (N={N}, M={M})", fn, net, net_se)
            for k, v in zip(rows, (f, mc, se, net, net_se, fn, ols, ols_se)):
                rows[k].append(v)
        for k, v in rows.items():
            arrays[f"N{N}/{k}"] = np.array(v)
    return Outcome({"d": d, "Ns": list(cfg.Ns), "networks": {str(k): v for k, v in nets.items()},
                    "checks": [c.as_dict() for c in checks]}, arrays)


def plot_risk_vs_length(run, fig_dir):
    a, Ms = run.arrays, run.arrays["Ms"]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, N in enumerate(run.metrics["Ns"]):
        c = f"C{i}"
        ax.plot(Ms, a[f"N{N}/formula"], "-", color=c, label=f"N={N}: exact formula")
        ax.errorbar(Ms, a[f"N{N}/mc"], 2 * a[f"N{N}/mc_se"], fmt="o", color=c, ms=4, mfc="none")
        ax.plot(Ms, a[f"N{N}/net"], "x", color=c, ms=6)
    ax.plot(Ms, a[f"N{run.metrics['Ns'][0]}/ols"], "k--", label="OLS (Monte Carlo)")
    ax.plot([], [], "ko", mfc="none", label="Monte Carlo, Γ⁻¹ predictor")
    ax.plot([], [], "kx", label="trained LSA network")
    ax.set_xscale("log"); ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_xlabel("test prompt length M"); ax.set_ylabel("E(ŷ − wᵀx_q)²")
    ax.set_title(f"Risk vs prompt length, d = {run.metrics['d']}", fontsize=10)
    ax.legend(fontsize=7)
    return [save(fig, fig_dir / "risk_vs_length.png")]


@dataclass(frozen=True)
class ShiftsConfig:
    """Experiment 4: train on Λ = I_d at length N; test under task, query, covariate and length shift.

    ``scales`` multiplies the shifted covariance (c·I); ``fixed_task_norm`` is ‖w‖ of the fixed task;
    ``noise_var`` the test label noise of the noisy-task case.
    """

    d: int = 5
    N: int = 20
    Ms: tuple[int, ...] = (2, 8, 32, 128)
    scales: tuple[float, ...] = (0.25, 4.0, 9.0)
    fixed_task_norm: float = 5.0
    noise_var: float = 1.0
    n_mc: int = 8000
    batch: int = 512
    average_steps: int = 3000
    seed: int = 0

    def __post_init__(self):
        require(self.d >= 1, "d", "be >= 1")
        require(self.N >= 1, "N", "be >= 1")
        require(len(self.Ms) > 0 and min(self.Ms) >= 1, "Ms", "be a non-empty list of integers >= 1")
        require(len(self.scales) > 0 and min(self.scales) > 0, "scales", "be a non-empty list of numbers > 0")
        require(self.fixed_task_norm > 0, "fixed_task_norm", "be > 0")
        require(self.noise_var >= 0, "noise_var", "be >= 0")
        require(self.n_mc >= 100, "n_mc", "be >= 100")
        require(self.batch >= 1, "batch", "be >= 1")
        require(self.average_steps >= 1, "average_steps", "be >= 1")


def shift_cases(cfg: ShiftsConfig) -> list[tuple[str, str, dict]]:
    """(family, label, PromptDistribution kwargs) for every shift; the same kwargs feed test_risk."""
    d, eye = cfg.d, np.eye(cfg.d)
    w = np.full(d, cfg.fixed_task_norm / np.sqrt(d))
    cases = [("length", "no shift (S = Q = W = I)", {})]
    cases += [("task", f"W = {c:g} I", {"task_cov": c * eye}) for c in cfg.scales]
    cases += [("task", f"fixed w, ‖w‖ = {cfg.fixed_task_norm:g}", {"fixed_task": w}),
              ("task", f"label noise s² = {cfg.noise_var:g}", {"noise_var": cfg.noise_var})]
    cases += [("query", f"Q = {c:g} I", {"query_cov": c * eye}) for c in cfg.scales]
    cases += [("covariate", f"S = Q = {c:g} I", {"cov": c * eye}) for c in cfg.scales]
    return cases


def _formula(V, M, kw, d):
    task = np.outer(kw["fixed_task"], kw["fixed_task"]) if "fixed_task" in kw else kw.get("task_cov")
    return test_risk(V, M, test_cov=kw.get("cov", np.eye(d)), query_cov=kw.get("query_cov"), task_cov=task,
                     noise_var=kw.get("noise_var", 0.0))


def run_shifts(cfg: ShiftsConfig, progress: bool = False) -> Outcome:
    d = cfg.d
    V = global_minimizer(np.eye(d), cfg.N)
    params, info = _network(d, cfg.N, cfg, progress)
    V_net = lsa.effective_matrix(params).T
    checks, arrays, labels = [], {"Ms": np.array(cfg.Ms)}, []
    for i, (family, label, kw) in enumerate(shift_cases(cfg)):
        dist = PromptDistribution(d, **kw)
        rows = {k: [] for k in ("formula", "mc", "mc_se", "net", "net_se")}
        for M in cfg.Ms:
            f = _formula(V, M, kw, d)
            mc, se = mc_risk(_theory_predict(V), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"mc-{i}-{M}"))
            net, net_se = mc_risk(_net_predict(params), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"net-{i}-{M}"))
            _compare(checks, f"{label}: formula vs Monte Carlo (M={M})", f, mc, se)
            _compare(checks, f"{label}: network vs formula at its u·U (M={M})", _formula(V_net, M, kw, d), net, net_se)
            for k, v in zip(rows, (f, mc, se, net, net_se)):
                rows[k].append(v)
        for k, v in rows.items():
            arrays[f"case{i}/{k}"] = np.array(v)
        labels.append({"family": family, "label": label,
                       "limit_M_inf": _formula(V, 10**9, kw, d)})
    return Outcome({"d": d, "N": cfg.N, "cases": labels, "network": info,
                    "checks": [c.as_dict() for c in checks]}, arrays)


def plot_shifts(run, fig_dir):
    a, Ms = run.arrays, run.arrays["Ms"]
    families = ["task", "query", "covariate", "length"]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    for ax, fam in zip(axes, families):
        k = 0
        for i, c in enumerate(run.metrics["cases"]):
            if c["family"] != fam and not (i == 0):
                continue
            col = f"C{k}"
            k += 1
            ax.plot(Ms, a[f"case{i}/formula"], "-", color=col, label=c["label"])
            ax.errorbar(Ms, a[f"case{i}/mc"], 2 * a[f"case{i}/mc_se"], fmt="o", color=col, ms=4, mfc="none")
            ax.plot(Ms, a[f"case{i}/net"], "x", color=col)
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_title(f"{fam} shift" if fam != "length" else "prompt-length shift (M ≠ N)", fontsize=9)
        ax.set_xlabel("M")
        ax.legend(fontsize=6)
    axes[0].set_ylabel("risk: line formula, o Monte Carlo, x network")
    return [save(fig, fig_dir / "shifts.png")]


register(Experiment("lsa-risk-vs-length", "Exp 3: risk vs test length M for several N (formula, MC, network, OLS)",
                    RiskVsLengthConfig, {"quick": {}, "paper": {"d": 10, "Ns": (10, 20, 40, 80), "n_mc": 50000,
                                                                 "Ms": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
                                                                 "batch": 2048}},
                    run_risk_vs_length, plot_risk_vs_length))
register(Experiment("lsa-shifts", "Exp 4: task, query, covariate and prompt-length shift",
                    ShiftsConfig, {"quick": {}, "paper": {"d": 10, "n_mc": 40000, "Ms": (1, 4, 16, 64, 256, 1024),
                                                           "batch": 2048}},
                    run_shifts, plot_shifts))
