"""Data dependence of in-context vs in-weights learning (docs/induction_head.md §4, the paper's grids).

IC and IW accuracy after ``steps`` of training, for the network and the minimal model, over
* K × B (number of classes × burstiness),
* the within-class noise ε, and the Zipf exponent α (at the centre K, B),
* training mixtures with 0 < p_B < 1 and 0 < p_C < 1 (coexistence of the two strategies).
The centre is the config's own K, B, ε, α, p_B, p_C; points shared by several sweeps are trained once.
The finite-data nested-logit model (:mod:`theory.induction_head.finite_data`) gives, for each point, the
flow time to the transition level: it has no in-weights path, so it predicts the in-context side only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...config import config, require, require_seed_zero, require_seeds
from ...induction_head import (
    MODELS,
    DataConfig,
    TrainConfig,
    crossing,
    icl_learned,
    iwl_learned,
    plateau,
    theory_times,
    transition_level,
)
from ...plotting import OKABE_ITO, band, plt, save
from ..jobs import Job
from ..kit import Check, Experiment, Outcome
from .settings import MEDIUM_TRAIN, PAPER, QUICK_DATA, QUICK_TRAIN, require_models

AXES = ("K", "B", "epsilon", "alpha", "p_B", "p_C")
KEPT = (
    "step",
    "acc_ic",
    "acc_iw",
    "acc_ic2",
    "acc_train",
    "ILA1",
    "TILA2",
    "acc_iw_common",
    "acc_iw_rare",
    "acc_ic2_common",
    "acc_ic2_rare",
)
"""The history kept per run; the common/rare accuracies are NaN unless α > 0."""


@config
class DataDependenceConfig:
    """Sweeps around a centre setting: K × B, ε, α, and p_B × p_C mixtures.

    Attributes
    ----------
    data : DataConfig
        The centre (its K, B, ε, α, p_B, p_C) and every other data field.
    train : TrainConfig
        The optimiser (``train.seed`` stays 0: seeds come from ``seeds``).
    Ks, Bs : list of int
        The K × B grid.
    epsilons, alphas : list of float
        The ε and α sweeps at the centre.
    mixture_p_B, mixture_p_C : list of float
        The mixture grid, values in (0, 1).
    models : list of str
    seeds : list of int
    theory_contexts : int
        Contexts sampled per point for the finite-data theory.
    tol : float
        Smallest accuracy change counted as a direction (3 binomial s.e. of a difference of two accuracies on
        ``eval_size`` sequences at p = ½, rounded up: 0.07 at 1000).
    """

    data: DataConfig = replace(QUICK_DATA, p_C=0.0)
    train: TrainConfig = replace(QUICK_TRAIN, steps=4000, eval_every=500)
    Ks: tuple[int, ...] = (128, 512)
    Bs: tuple[int, ...] = (0, 1, 2)
    epsilons: tuple[float, ...] = (0.1, 1.0)
    alphas: tuple[float, ...] = (0.0, 1.0)
    mixture_p_B: tuple[float, ...] = (0.8,)
    mixture_p_C: tuple[float, ...] = (0.5,)
    models: tuple[str, ...] = ("network",)
    seeds: tuple[int, ...] = (0,)
    theory_contexts: int = 1000
    tol: float = 0.07

    def __post_init__(self):
        for name in ("Ks", "Bs", "epsilons", "alphas"):
            require(len(getattr(self, name)) >= 2, name, "have at least 2 values")
        require(all(0 < p < 1 for p in self.mixture_p_B), "mixture_p_B", "lie in (0, 1)")
        require(all(0 < p < 1 for p in self.mixture_p_C), "mixture_p_C", "lie in (0, 1)")
        require_models(self.models)
        require_seeds(self.seeds)
        require(self.theory_contexts >= 10, "theory_contexts", "be >= 10")
        require(0 < self.tol < 1, "tol", "lie in (0, 1)")
        require_seed_zero(self.train)
        for p in self.points():
            self.point(p)  # validates every point up front

    def centre(self) -> dict:
        return {k: getattr(self.data, k) for k in AXES}

    def point(self, p: dict) -> DataConfig:
        return replace(self.data, **p)

    def sweeps(self) -> dict[str, list[dict]]:
        """Named sweeps, each a list of points (dicts over :data:`AXES`)."""
        c = self.centre()
        return {
            "KxB": [
                {**c, "K": K, "B": B, "p_C": c["p_C"] if B > 0 else 0.0} for K in self.Ks for B in self.Bs
            ],
            "epsilon": [{**c, "epsilon": e} for e in self.epsilons],
            "alpha": [{**c, "alpha": a} for a in self.alphas],
            "mixture": [{**c, "p_B": pb, "p_C": pc} for pb in self.mixture_p_B for pc in self.mixture_p_C],
        }

    def points(self) -> list[dict]:
        out = []
        for pts in self.sweeps().values():
            out += [p for p in pts if p not in out]
        return out


def _key(p: dict) -> str:
    return ",".join(f"{k}={p[k]:g}" for k in AXES)


def _theory_time(cfg: DataDependenceConfig, p: dict):
    """The finite-data flow time to the transition level (None at B = 0: no in-context path to learn)."""
    return theory_times(cfg.point(p), cfg.theory_contexts)[1]


def plan_data_dependence(cfg: DataDependenceConfig) -> list[Job]:
    return [
        Job(m, cfg.point(p), replace(cfg.train, seed=s))
        for p in cfg.points()
        for m in cfg.models
        for s in cfg.seeds
    ]


def finish_data_dependence(cfg: DataDependenceConfig, results, ctx) -> Outcome:
    pts = cfg.points()
    keys = [(_key(p), m, s) for p in pts for m in cfg.models for s in cfg.seeds]
    runs = {k: {a: r.history[a] for a in KEPT} for k, r in zip(keys, results, strict=True)}
    rows, arrays = [], {}
    for p in pts:
        k = _key(p)
        data = cfg.point(p)
        level = transition_level(data)
        row = {**p, "key": k, "theory_time": _theory_time(cfg, p), "level": level}
        for m in cfg.models:
            hs = [runs[(k, m, s)] for s in cfg.seeds]
            finals = {a: np.array([h[a][-1] for h in hs]) for a in KEPT[1:]}
            row[m] = {
                **{f"final_{a}": float(np.mean(v)) for a, v in finals.items()},
                **{
                    f"final_{a}_sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
                    for a, v in finals.items()
                },
                "icl_learned": float(np.mean([icl_learned(h, data) for h in hs])),
                "iwl_learned": float(np.mean([iwl_learned(h, data) for h in hs])),
                "transition_steps": [crossing(h["step"], h["acc_ic"], level) for h in hs],
            }
            for s, h in zip(cfg.seeds, hs, strict=True):
                for a, v in h.items():
                    arrays[f"{m}/{k}/seed{s}/{a}"] = v
        rows.append(row)
    sweeps = {name: [_key(p) for p in ps] for name, ps in cfg.sweeps().items()}
    return Outcome(
        {
            "points": rows,
            "sweeps": sweeps,
            "models": list(cfg.models),
            "seeds": list(cfg.seeds),
            "N": cfg.data.N,
            "K_centre": cfg.data.K,
        },
        arrays,
        tuple(_checks(cfg, rows)),
    )


def _direction(name, values, sign, tol, sds=None, n=1) -> Check:
    """Endpoints move in direction ``sign`` by at least the tolerance, and no step between neighbours
    reverses by more than it. The tolerance is ``tol`` or, if larger, 3 standard errors of the endpoints'
    difference from the spread over ``n`` seeds (``sds``: standard deviations per point)."""
    if sds is not None and n > 1:
        tol = max(tol, 3 * float(np.sqrt((sds[0] ** 2 + sds[-1] ** 2) / n)))
    return Check.direction(
        name,
        values,
        sign,
        tol,
        f"endpoint change ≥ {tol:.3g} in the paper's direction (the larger of `tol` and 3 s.e. over seeds), "
        f"no reversal > {tol:.3g}",
    )


def _checks(cfg: DataDependenceConfig, rows) -> list[Check]:
    """The paper's directions as checks (accuracy changes beyond the seed spread, B = 0 gives no ICL), and
    at the ICL end of each direction a *finding*: whether every seed learned ICL by an induction head (IC
    and IC2 above B/N + 0.2, ILA1 and TILA2 up by 0.2; transition.py). A direction can pass on a network
    that only edged off the plateau; the finding says whether the mechanism formed within the budget. The
    coexistence of Zipf-distributed classes is a finding too: whether it shows depends on the setting."""
    by = {r["key"]: r for r in rows}
    sw = {name: [by[_key(p)] for p in ps] for name, ps in cfg.sweeps().items()}
    checks, tol, n = [], cfg.tol, len(cfg.seeds)
    for m in cfg.models:

        def direction(name, line, a, sign, m=m):
            return _direction(
                f"{m}{name}",
                [r[m][f"final_acc_{a}"] for r in line],
                sign,
                tol,
                [r[m][f"final_acc_{a}_sd"] for r in line],
                n,
            )

        def learned(name, r, m=m):
            x = r[m]
            return Check.finding(
                f"{m}{name}: every seed learned ICL by an induction head",
                x["icl_learned"] == 1.0,
                "IC, IC2 > B/N + 0.2 and ILA1, TILA2 up by > 0.2 in every seed",
                f"fraction {x['icl_learned']:.2f}; IC {x['final_acc_ic']:.2f}, IC2 {x['final_acc_ic2']:.2f}, "
                f"ILA1 {x['final_ILA1']:.2f}, TILA2 {x['final_TILA2']:.2f} (means)",
            )

        for B in cfg.Bs:
            line = [r for r in sw["KxB"] if r["B"] == B]
            if B == 0:
                for r in line:
                    checks.append(
                        Check.at_most(
                            f"{m}, B = 0, K = {r['K']}: fraction of seeds with ICL",
                            r[m]["icl_learned"],
                            0.0,
                            "without bursty contexts nothing rewards reading the context",
                        )
                    )
                continue
            checks.append(direction(f", B = {B}: K up → ICL up", line, "ic", +1))
            checks.append(direction(f", B = {B}: K up → IWL down", line, "iw", -1))
            checks.append(learned(f", B = {B}, K = {line[-1]['K']} (the ICL end)", line[-1]))
        line = [r for r in sw["KxB"] if r["K"] == cfg.data.K and r["B"] > 0]  # where the strategies compete
        if len(line) > 1:
            checks.append(direction(f", K = {cfg.data.K}: B up → ICL up", line, "ic", +1))
            checks.append(direction(f", K = {cfg.data.K}: B up → IWL down", line, "iw", -1))
        checks.append(direction(": ε up → ICL up", sw["epsilon"], "ic", +1))
        checks.append(direction(": ε up → IWL down", sw["epsilon"], "iw", -1))
        checks.append(learned(f", ε = {sw['epsilon'][-1]['epsilon']:g} (the ICL end)", sw["epsilon"][-1]))
        for r in sw["alpha"]:
            if r["alpha"] > 0:
                flat = plateau(cfg.point({k: r[k] for k in AXES}))
                common, rare = r[m]["final_acc_iw_common"], r[m]["final_acc_ic2_rare"]
                checks.append(
                    Check.finding(
                        f"{m}, α = {r['alpha']:g}: coexistence (IW on common classes > 1/L + 0.2 and IC2 on "
                        "rare classes > B/N + 0.2)",
                        common >= 1 / cfg.data.L + 0.2 and rare >= flat + 0.2,
                        "Reddy: a Zipf law lets in-weights learning take the frequent classes and in-context "
                        "learning the rare ones",
                        f"IW common {common:.2f}, IC2 rare {rare:.2f} (mean over seeds)",
                    )
                )
    return checks


def _line(ax, rows, x, m, a, **kw):
    """Final accuracy ``a`` of model ``m`` against ``x``: the mean over seeds, bars ± one sd."""
    ax.errorbar(
        [r[x] for r in rows],
        [r[m][f"final_acc_{a}"] for r in rows],
        [r[m][f"final_acc_{a}_sd"] for r in rows],
        capsize=3,
        **kw,
    )


def _theory_times(ax, rows, x):
    """The finite-data theory's flow time to the transition against ``x``, on a twin y axis of ``ax``."""
    tw = ax.twinx()
    tw.plot(
        [r[x] for r in rows],
        [np.nan if r["theory_time"] is None else r["theory_time"] for r in rows],
        "k:",
        marker="s",
        label="theory: flow time to transition (finite data)",
    )
    tw.set_ylabel("finite-data theory: flow time to transition", fontsize=8)
    tw.legend(fontsize=7, loc="upper center")
    return tw


def _colours(n: int) -> list:
    """``n`` colours: the Okabe–Ito palette while it lasts, else evenly spaced viridis (never wrapping)."""
    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[:n])
    return [plt.cm.viridis(v) for v in np.linspace(0, 0.95, n)]


def _time_text(t) -> str:
    """The finite-data theory's flow time to the transition, or that it has none (B = 0: no in-context path;
    or none within the integration horizon)."""
    return "no transition" if t is None else f"t = {t:.3g}"


def plot_data_dependence(run, fig_dir):
    met, arr = run.metrics, run.arrays
    by = {r["key"]: r for r in met["points"]}
    sw = {name: [by[k] for k in keys] for name, keys in met["sweeps"].items()}
    models = met["models"]
    seeds = met["seeds"]
    figs = []
    Ks = sorted({r["K"] for r in sw["KxB"]})
    Bs = sorted({r["B"] for r in sw["KxB"]})
    kb = {(r["K"], r["B"]): r for r in sw["KxB"]}
    names = {
        "ic": "in-context (IC)",
        "iw": "in-weights (IW)",
        "ic2": "swapped labels (IC2)",
        "ILA1": "induction head: ILA1",
    }
    fig, axes = plt.subplots(4, len(models), figsize=(4.6 * len(models), 13.5), squeeze=False)
    for j, m in enumerate(models):
        for i, a in enumerate(("ic", "iw", "ic2", "ILA1")):
            ax = axes[i, j]
            key = a if a == "ILA1" else f"acc_{a}"
            grid = np.array([[kb[(K, B)][m][f"final_{key}"] for K in Ks] for B in Bs])
            spread = np.array([[kb[(K, B)][m].get(f"final_{key}_sd", 0.0) for K in Ks] for B in Bs])
            ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="lower")
            for (bi, ki), v in np.ndenumerate(grid):
                text = f"{v:.2f}" if len(seeds) < 2 else f"{v:.2f}±{spread[bi, ki]:.2f}"
                ax.text(ki, bi, text, ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=8)
            if a == "ic":  # the theory is of the in-context transition: its time under each accuracy
                for (bi, ki), v in np.ndenumerate(grid):
                    t = kb[(Ks[ki], Bs[bi])]["theory_time"]
                    color = "w" if v < 0.6 else "k"
                    text = f"theory: {_time_text(t)}"
                    ax.text(ki, bi - 0.25, text, ha="center", va="center", color=color, fontsize=6)
            ax.set_xticks(range(len(Ks)), [str(K) for K in Ks])
            ax.set_yticks(range(len(Bs)), [str(B) for B in Bs])
            ax.set_xlabel("K (classes)")
            ax.set_ylabel("B (burstiness)")
            title = f"{m}: {names[a]} at the end, mean ± sd over {len(seeds)} seeds"
            if a == "ic":
                title += "\n(small: finite-data theory, flow time to the transition)"
            ax.set_title(title, fontsize=9)
    figs += save(fig, fig_dir, "phase_K_B")

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for j, m in enumerate(models):
        for a, ls, mk in (("ic", "-", "o"), ("iw", "--", "s")):
            for ax, axis in ((axes[0], "epsilon"), (axes[1], "alpha")):
                _line(
                    ax,
                    sw[axis],
                    axis,
                    m,
                    a,
                    ls=ls,
                    marker=mk,
                    mfc="none" if a == "iw" else None,
                    color=f"C{j}",
                    label=f"simulation: {m} {a.upper()} (mean ± sd, {len(seeds)} seeds)",
                )
    axes[0].set_xlabel("within-class noise ε")
    axes[1].set_xlabel("Zipf exponent α")
    for ax in axes[:2]:
        ax.set_ylabel("final accuracy")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="center left")
    _theory_times(axes[0], sw["epsilon"], "epsilon")  # the twins come after the three panels: axes 3 and 4
    _theory_times(axes[1], sw["alpha"], "alpha")
    mix_ax = axes[2]
    colours = _colours(len(sw["mixture"]) * len(models))
    for i, r in enumerate(sw["mixture"]):
        mix = f"p_B={r['p_B']:g} p_C={r['p_C']:g}"
        for j, m in enumerate(models):
            pre = [f"{m}/{r['key']}/seed{s}" for s in seeds]
            steps = [arr[f"{p}/step"] for p in pre]
            c = colours[i * len(models) + j]
            band(mix_ax, steps, [arr[f"{p}/acc_ic"] for p in pre], c, f"simulation: {m} {mix} IC")
            band(mix_ax, steps, [arr[f"{p}/acc_iw"] for p in pre], c, f"simulation: {m} {mix} IW", ls="--")
        theory = f"theory, {mix}: flow time to transition {_time_text(r['theory_time'])}"
        mix_ax.plot([], [], " ", label=theory)  # in flow units: not on the step axis
    mix_ax.set_xlabel("step")
    mix_ax.set_ylabel("accuracy")
    mix_ax.legend(fontsize=6)
    mix_ax.set_title(f"Coexistence, 0 < p_B, p_C < 1: solid IC, dashed IW, seeds {seeds}", fontsize=9)
    figs += save(fig, fig_dir, "epsilon_alpha_mixture")
    return figs


DATA_DEPENDENCE = Experiment(
    "induction-head-data-dependence",
    "IC vs IW accuracy over K × B, ε, α and p_B × p_C mixtures (both models at medium/paper)",
    "More burstiness B, more classes K and more within-class noise ε favour in-context over in-weights "
    "learning; B = 0 gives no ICL; Zipf α ≈ 1 and mixtures let both coexist (Reddy, 2023, Fig. 3 and A.1).",
    DataDependenceConfig,
    {
        "quick": {},
        "medium": {
            "data": replace(QUICK_DATA, K=128, B=2, p_C=0.0),
            "train": MEDIUM_TRAIN,
            "Ks": (128, 512, 2048),
            "Bs": (0, 1, 2),
            "epsilons": (0.0, 0.1, 0.4, 1.0),
            "alphas": (0.0, 1.0, 2.0),
            "models": MODELS,
            "seeds": (0, 1, 2),
        },
        "paper": {
            "data": replace(PAPER["data"], p_C=0.0),
            "train": PAPER["train"],
            "seeds": (0, 1, 2),
            "Ks": (128, 256, 512, 2048),
            "Bs": (0, 1, 2, 4),
            "epsilons": (0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4),
            "alphas": tuple(0.25 * i for i in range(8)),
            "mixture_p_B": (0.25, 0.5, 0.75),
            "mixture_p_C": (0.25, 0.5, 0.75),
            "models": MODELS,
        },
    },
    None,
    plot_data_dependence,
    plan_data_dependence,
    finish_data_dependence,
)
