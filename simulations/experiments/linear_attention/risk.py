"""The exact finite-M risk (docs/linear_attention.md §4–5) against Monte Carlo, trained networks and OLS:
risk against prompt length, and under task, query, covariate and prompt-length shift."""

from __future__ import annotations

import numpy as np

from theory.linear_attention import geometric_spectrum, global_minimizer, predict, test_risk

from ...config import config, require
from ...linear_attention import (
    PromptDistribution,
    effective_matrix,
    embed,
    flow_vs_network,
    mc_risk,
    ols_predict,
)
from ...linear_attention import predict as network_predict
from ...plotting import plt, save, style_axes
from ...seeding import stream_rng
from ..kit import Check, Experiment, Outcome


def trained_network(d: int, N: int, cfg, progress: bool):
    """Averaged weights of an LSA trained on Λ = I at length N, and its run's facts."""
    cmp = flow_vs_network(
        np.eye(d),
        N,
        batch=cfg.batch,
        average_steps=cfg.average_steps,
        seed=cfg.seed,
        min_transient_steps=1,
        progress=progress,
    )
    return cmp.network.params_avg, {
        "lr": cmp.lr,
        "steps": int(cmp.network.history["step"][-1]),
        "window_drift": cmp.network.window_drift,
    }


def network_predictor(params):
    return lambda pr: network_predict(params, embed(pr.X, pr.y, pr.x_query))


def closed_form_predictor(V):
    return lambda pr: predict(V, pr.X, pr.y, pr.x_query)


@config
class RiskConfig:
    """Risk against test prompt length M, isotropic Λ = I_d.

    Attributes
    ----------
    d : int
        Dimension.
    Ns : list of int
        Training prompt lengths (one network each).
    Ms : list of int
        Test prompt lengths.
    noise_var : float
        Label-noise variance s² of the test prompts.
    n_mc : int
        Monte Carlo prompts per (N, M).
    batch : int
        Prompts per training step.
    average_steps : int
        Steps over which the network's weights are averaged.
    seed : int
    """

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


def _risk_at(cfg: RiskConfig, N: int, progress: bool) -> tuple[list[Check], dict, dict]:
    """The risk over test lengths M for training length N (module-level: runs in workers)."""
    d = cfg.d
    dist = PromptDistribution(d, noise_var=cfg.noise_var)
    V = global_minimizer(np.eye(d), N)
    params, info = trained_network(d, N, cfg, progress)
    V_net = effective_matrix(params).T  # predictor convention ŷ = x_qᵀ V ĥ
    net_info = {
        **info,
        "rel_error": float(np.linalg.norm(V_net - V) / np.linalg.norm(V)),
        "limit": test_risk(V, np.inf, test_cov=np.eye(d), noise_var=cfg.noise_var),
    }
    checks, rows = (
        [],
        {k: [] for k in ("formula", "mc", "mc_se", "net", "net_se", "net_formula", "ols", "ols_se")},
    )
    for M in cfg.Ms:
        f = test_risk(V, M, test_cov=np.eye(d), noise_var=cfg.noise_var)
        mc, se = mc_risk(closed_form_predictor(V), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"mc-{N}-{M}"))
        net, net_se = mc_risk(
            network_predictor(params), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"net-{N}-{M}")
        )
        ols, ols_se = mc_risk(ols_predict, dist, M, cfg.n_mc, stream_rng(cfg.seed, f"ols-{N}-{M}"))
        fn = test_risk(V_net, M, test_cov=np.eye(d), noise_var=cfg.noise_var)
        checks.append(Check.monte_carlo(f"risk formula vs Monte Carlo (N={N}, M={M})", f, mc, se))
        checks.append(
            Check.monte_carlo(f"trained network vs formula at its own u·U (N={N}, M={M})", fn, net, net_se)
        )
        for k, v in zip(rows, (f, mc, se, net, net_se, fn, ols, ols_se), strict=True):
            rows[k].append(v)
    return checks, net_info, {f"N{N}/{k}": np.array(v) for k, v in rows.items()}


def run_risk(cfg: RiskConfig, ctx) -> Outcome:
    checks, arrays, nets = [], {"Ms": np.array(cfg.Ms)}, {}
    Ns = sorted(cfg.Ns, reverse=True)  # the longest prompts cost most: start them first
    done = dict(zip(Ns, ctx.map(_risk_at, [cfg] * len(Ns), Ns, [ctx.progress] * len(Ns)), strict=True))
    for N in cfg.Ns:
        n_checks, info, n_arrays = done[N]
        checks += n_checks
        nets[str(N)] = info
        arrays.update(n_arrays)
    return Outcome(
        {"d": cfg.d, "Ns": list(cfg.Ns), "noise_var": cfg.noise_var, "networks": nets}, arrays, tuple(checks)
    )


def plot_risk(run, fig_dir):
    a, Ms, m = run.arrays, run.arrays["Ms"], run.metrics
    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    for i, N in enumerate(m["Ns"]):
        c = f"C{i}"
        ax.plot(Ms, a[f"N{N}/formula"], "-", color=c, label=f"N = {N}: theory, exact finite-M risk")
        ax.axhline(m["networks"][str(N)]["limit"], color=c, ls="--", lw=0.9)
        ax.errorbar(Ms, a[f"N{N}/mc"], 4 * a[f"N{N}/mc_se"], fmt="o", color=c, ms=4, mfc="none")
        # the network's check: |net − net_formula| ≤ 4 net_se, net_formula the risk at its own u·U
        ax.plot(Ms, a[f"N{N}/net_formula"], ":", color=c, lw=0.8)
        ax.errorbar(Ms, a[f"N{N}/net"], 4 * a[f"N{N}/net_se"], fmt="x", color=c, ms=6, elinewidth=0.8)
    ax.plot(Ms, a[f"N{m['Ns'][0]}/ols"], "k-.", label="OLS (Monte Carlo)")
    ax.plot([], [], "k--", lw=0.9, label="theory: M → ∞ limit")
    ax.plot([], [], "k:", lw=0.8, label="theory: exact risk at the network's own u·U")
    ax.plot([], [], "ko", mfc="none", label="simulation: Γ⁻¹ predictor (bars: 4 s.e.)")
    ax.plot([], [], "kx", label="simulation: trained LSA network (bars: 4 s.e.)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    style_axes(ax, "test prompt length M", "risk E(ŷ − wᵀx_q)²", f"Risk against prompt length, d = {m['d']}")
    ax.legend(fontsize=7)
    return save(fig, fig_dir, "risk_vs_length")


RISK = Experiment(
    "linear-attention-risk",
    "risk against test length M for several N: exact formula, Monte Carlo, network, OLS",
    "The trained LSA's prediction error is the best linear error plus O(1/M + 1/N²) (Zhang et al., "
    "Theorem 4.2); the package gives it exactly at every M.",
    RiskConfig,
    {
        "quick": {},
        "paper": {
            "d": 10,
            "Ns": (10, 20, 40, 80),
            "n_mc": 50000,
            "Ms": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            "batch": 2048,
        },
    },
    run_risk,
    plot_risk,
)


@config
class ShiftsConfig:
    """Train on Λ = I_d at length N; test under task, query, covariate and prompt-length shift.

    Attributes
    ----------
    d : int
    N : int
        Training prompt length.
    Ms : list of int
        Test prompt lengths.
    scales : list of float
        Multipliers c of the shifted covariances (c·I).
    query_kappa : float
        Condition number of the anisotropic query covariance (trace d).
    fixed_task_norm : float
        ‖w‖ of the fixed task.
    noise_var : float
        Test label noise of the noisy-task case.
    n_mc : int
        Monte Carlo prompts per case and M.
    batch : int
    average_steps : int
    seed : int
    """

    d: int = 5
    N: int = 20
    Ms: tuple[int, ...] = (2, 8, 32, 128)
    scales: tuple[float, ...] = (0.25, 4.0, 9.0)
    query_kappa: float = 16.0
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
        require(self.query_kappa >= 1, "query_kappa", "be >= 1")
        require(self.fixed_task_norm > 0, "fixed_task_norm", "be > 0")
        require(self.noise_var >= 0, "noise_var", "be >= 0")
        require(self.n_mc >= 100, "n_mc", "be >= 100")
        require(self.batch >= 1, "batch", "be >= 1")
        require(self.average_steps >= 1, "average_steps", "be >= 1")


def shift_cases(cfg: ShiftsConfig) -> list[tuple[str, str, dict]]:
    """(family, label, PromptDistribution keywords) for every shift; the same keywords feed test_risk."""
    d, eye = cfg.d, np.eye(cfg.d)
    w = np.full(d, cfg.fixed_task_norm / np.sqrt(d))
    aniso = geometric_spectrum(d, cfg.query_kappa)
    aniso *= d / np.trace(aniso)
    cases = [("length", "no shift (S = Q = W = I)", {})]
    cases += [("task", f"W = {c:g} I", {"task_cov": c * eye}) for c in cfg.scales]
    cases += [
        ("task", f"fixed w, ‖w‖ = {cfg.fixed_task_norm:g}", {"fixed_task": w}),
        ("task", f"label noise s² = {cfg.noise_var:g}", {"noise_var": cfg.noise_var}),
    ]
    cases += [("query", f"Q = {c:g} I", {"query_cov": c * eye}) for c in cfg.scales]
    cases += [("query", f"Q anisotropic, κ = {cfg.query_kappa:g}, tr Q = d", {"query_cov": aniso})]
    cases += [("covariate", f"S = Q = {c:g} I", {"cov": c * eye}) for c in cfg.scales]
    return cases


def shift_risk(V, M, kw, d):
    """test_risk for the keywords of one shift case."""
    task = np.outer(kw["fixed_task"], kw["fixed_task"]) if "fixed_task" in kw else kw.get("task_cov")
    return test_risk(
        V,
        M,
        test_cov=kw.get("cov", np.eye(d)),
        query_cov=kw.get("query_cov"),
        task_cov=task,
        noise_var=kw.get("noise_var", 0.0),
    )


def run_shifts(cfg: ShiftsConfig, ctx) -> Outcome:
    d = cfg.d
    V = global_minimizer(np.eye(d), cfg.N)
    params, info = trained_network(d, cfg.N, cfg, ctx.progress)
    V_net = effective_matrix(params).T
    checks, arrays, labels = [], {"Ms": np.array(cfg.Ms)}, []
    for i, (family, label, kw) in enumerate(shift_cases(cfg)):
        dist = PromptDistribution(d, **kw)
        rows = {k: [] for k in ("formula", "mc", "mc_se", "net", "net_se")}
        for M in cfg.Ms:
            f = shift_risk(V, M, kw, d)
            mc, se = mc_risk(closed_form_predictor(V), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"mc-{i}-{M}"))
            net, net_se = mc_risk(
                network_predictor(params), dist, M, cfg.n_mc, stream_rng(cfg.seed, f"net-{i}-{M}")
            )
            checks.append(Check.monte_carlo(f"{label}: formula vs Monte Carlo (M={M})", f, mc, se))
            checks.append(
                Check.monte_carlo(
                    f"{label}: network vs formula at its u·U (M={M})",
                    shift_risk(V_net, M, kw, d),
                    net,
                    net_se,
                )
            )
            for k, v in zip(rows, (f, mc, se, net, net_se), strict=True):
                rows[k].append(v)
        for k, v in rows.items():
            arrays[f"case{i}/{k}"] = np.array(v)
        labels.append({"family": family, "label": label, "limit_M_inf": shift_risk(V, np.inf, kw, d)})
    return Outcome({"d": d, "N": cfg.N, "cases": labels, "network": info}, arrays, tuple(checks))


def plot_shifts(run, fig_dir):
    a, Ms = run.arrays, run.arrays["Ms"]
    families = ["task", "query", "covariate", "length"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.0))
    for ax, fam in zip(axes, families, strict=True):
        k = 0
        for i, c in enumerate(run.metrics["cases"]):
            if c["family"] != fam and i != 0:
                continue
            col = f"C{k}"
            k += 1
            ax.plot(Ms, a[f"case{i}/formula"], "-", color=col, label=c["label"])
            ax.errorbar(
                Ms, a[f"case{i}/mc"], 4 * a[f"case{i}/mc_se"], fmt="o", color=col, ms=4, mfc="none", capsize=2
            )
            ax.plot(Ms, a[f"case{i}/net"], "x", color=col)
        ax.set_xscale("log")
        ax.set_yscale("log")
        style_axes(
            ax,
            "test prompt length M",
            "risk E(ŷ − y_q)²",
            f"{fam} shift" if fam != "length" else f"prompt-length shift (train N = {run.metrics['N']})",
        )
    # legend proxies (first panel): which marks are theory and which simulation
    axes[0].plot([], [], "k-", label="theory: exact risk at Γ⁻¹ (lines)")
    axes[0].plot([], [], "ko", mfc="none", ms=4, label="simulation: Γ⁻¹ predictor, Monte Carlo ± 4 s.e.")
    axes[0].plot([], [], "kx", label="simulation: trained network")
    for ax in axes:
        ax.legend(fontsize=6)
    return save(fig, fig_dir, "shifts")


SHIFTS = Experiment(
    "linear-attention-shifts",
    "task, query, covariate and prompt-length shift: exact risk, Monte Carlo, network",
    "A trained LSA tolerates task and query shift as M grows but not covariate shift (Zhang et al., §4.2).",
    ShiftsConfig,
    {"quick": {}, "paper": {"d": 10, "n_mc": 40000, "Ms": (1, 4, 16, 64, 256, 1024), "batch": 2048}},
    run_shifts,
    plot_shifts,
)
