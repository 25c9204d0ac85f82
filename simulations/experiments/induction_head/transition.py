"""Transition time against N and L: nested-logit theory vs the minimal model vs the network
(docs/induction_head.md §4–§6).

Every arm (N, L = m N for m in ``L_multiples``) is trained for each model and seed; a run stops at the first
evaluation whose IC accuracy reaches the transition level (B/N + 1)/2, and its step is the run's transition
step (None if it never does: the run did not learn ICL). The theory gives, for the same arms, the
gradient-flow time at which the right-label probability crosses ½: idealised (docs/induction_head.md §6) and
averaged over
contexts sampled from the arm's own training distribution (:mod:`theory.induction_head.finite_data`).
Gradient-flow time and SGD steps are different units, so orderings and ratios are compared, not values.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np

from theory.induction_head import integrate_nested_logits

from ...config import config, require, require_seed_zero, require_seeds
from ...induction_head import MODELS, DataConfig, TrainConfig, theory_times, transition_level, transition_step
from ...plotting import plt, save
from ..jobs import Job
from ..kit import Check, Experiment, Outcome
from .settings import MEDIUM_TRAIN, PAPER, QUICK_DATA, QUICK_TRAIN, require_models


@config
class TransitionConfig:
    """Arms N × L = m N, every model, several seeds; each run stops at its transition.

    Attributes
    ----------
    data : DataConfig
        The data; each arm sets N and L (and raises P to 2N + 1 if needed).
    train : TrainConfig
        The optimiser (``train.seed`` stays 0; ``stop_at_ic`` is set per arm to its transition level).
    Ns : list of int
        Context sizes N.
    L_multiples : list of int
        L = m N for each m (m = 1 is the L = N case).
    models : list of str
        From "network", "minimal".
    seeds : list of int
    theory_contexts : int
        Contexts sampled per arm for the finite-data theory.
    theory_init : float
        The flow's initial (β₁, α, ξ) (all equal).
    ratio_tol : float
        Orderings are checked for pairs of arms whose finite-data theory times differ by at least this factor.
    """

    data: DataConfig = QUICK_DATA
    train: TrainConfig = replace(QUICK_TRAIN, steps=4000)
    Ns: tuple[int, ...] = (2, 4)
    L_multiples: tuple[int, ...] = (1, 2)
    models: tuple[str, ...] = MODELS
    seeds: tuple[int, ...] = (0, 1)
    theory_contexts: int = 1000
    theory_init: float = 0.0
    ratio_tol: float = 1.25

    def __post_init__(self):
        require(len(self.Ns) > 0 and min(self.Ns) >= 2, "Ns", "be a non-empty list of integers >= 2")
        require(
            len(self.L_multiples) > 0 and min(self.L_multiples) >= 1,
            "L_multiples",
            "be a non-empty list of integers >= 1",
        )
        require_models(self.models)
        require_seeds(self.seeds)
        require(self.theory_contexts >= 10, "theory_contexts", "be >= 10")
        require(self.ratio_tol > 1, "ratio_tol", "be > 1")
        require_seed_zero(self.train)
        for N, L in self.arms():
            self.arm(N, L)  # validates every data configuration up front

    def arms(self):
        return [(N, m * N) for N in self.Ns for m in self.L_multiples]

    def arm(self, N: int, L: int) -> DataConfig:
        return replace(self.data, N=N, L=L, P=max(self.data.P, 2 * N + 1))


def _theory(cfg: TransitionConfig, N: int, L: int) -> dict:
    """Flow times to the networks' transition level: idealised (None for L = N: the origin is critical)
    and finite-data."""
    ideal, finite = theory_times(cfg.arm(N, L), cfg.theory_contexts, cfg.theory_init)
    return {"theory_ideal": ideal, "theory_finite": finite}


def _keys(cfg: TransitionConfig) -> list[tuple]:
    return [(N, L, m, s) for N, L in cfg.arms() for m in cfg.models for s in cfg.seeds]


def plan_transition(cfg: TransitionConfig) -> list[Job]:
    return [
        Job(m, cfg.arm(N, L), replace(cfg.train, seed=s, stop_at_ic=transition_level(cfg.arm(N, L))))
        for N, L, m, s in _keys(cfg)
    ]


def finish_transition(cfg: TransitionConfig, results, ctx) -> Outcome:
    keys = _keys(cfg)
    runs = {
        k: {
            **{a: r.history[a] for a in ("step", "acc_ic", "acc_iw")},
            "transition_step": transition_step(r.history, cfg.arm(k[0], k[1])),
        }
        for k, r in zip(keys, results, strict=True)
    }
    rows, arrays = [], {}
    for N, L in cfg.arms():
        row = {"N": N, "L": L, **_theory(cfg, N, L)}
        for m in cfg.models:
            steps = [runs[(N, L, m, s)]["transition_step"] for s in cfg.seeds]
            learned = [t for t in steps if t is not None]
            row[m] = {
                "transition_steps": steps,
                "fraction_learning_icl": len(learned) / len(steps),
                "median_step": float(np.median(learned)) if len(learned) == len(steps) else None,
            }
            for s in cfg.seeds:
                for k in ("step", "acc_ic", "acc_iw"):
                    arrays[f"{m}/N{N}_L{L}_seed{s}/{k}"] = runs[(N, L, m, s)][k]
        rows.append(row)
    curve_N = np.arange(2, 2 * max(cfg.Ns) + 1)
    for mult in cfg.L_multiples:
        if mult > 1:
            arrays[f"theory_curve/L{mult}N"] = np.array(  # idealised, B = 1, level (1/N + 1)/2
                [
                    integrate_nested_logits(
                        int(n), int(mult * n), cfg.theory_init, 1e4, level=(1 / n + 1) / 2
                    ).t_transition
                    for n in curve_N
                ]
            )
    arrays["theory_curve/N"] = curve_N
    return Outcome(
        {"arms": rows, "models": list(cfg.models), "seeds": list(cfg.seeds)},
        arrays,
        tuple(_checks(cfg, rows)),
    )


def _checks(cfg: TransitionConfig, rows: list) -> list[Check]:
    """At L = N: every network seed is slower than the L = 2N arm's median (a check: the theory's origin is
    critical there), and whether no seed learns ICL within the budget (a finding: the paper's "not learned
    robustly", which a longer run can overturn). At L > N: every seed of every model learns ICL. Pairs of
    arms the theory orders by ≥ ``ratio_tol``: the median transition steps in the same order."""
    checks = []
    n = len(cfg.seeds)
    by = {(r["N"], r["L"]): r for r in rows}
    for r in rows:
        N, L = r["N"], r["L"]
        if L == N and "network" in cfg.models:
            steps = r["network"]["transition_steps"]
            ref = by.get((N, 2 * N), {}).get("network", {}).get("median_step")
            if ref is not None:
                checks.append(
                    Check.holds(
                        f"network, N = L = {N}: every seed slower than the L = 2N median (critical origin)",
                        all(t is None or t > ref for t in steps),
                        f"{n} seeds; the idealised flow stalls at the symmetric start: escaping it is slow",
                        f"L = N transition steps {steps} (None: not within {cfg.train.steps}); L = 2N median "
                        f"{ref:g}",
                    )
                )
            checks.append(
                Check.finding(
                    f"network, N = L = {N}: no seed learns ICL within {cfg.train.steps} steps",
                    r["network"]["fraction_learning_icl"] == 0,
                    "the paper: at L = N in-context learning is not learned robustly (no seed at N = 8, few "
                    "at N = 2 and 4)",
                    f"fraction {r['network']['fraction_learning_icl']:.2f}, transition steps {steps}",
                )
            )
        if L > N:
            for m in cfg.models:
                f = r[m]["fraction_learning_icl"]
                checks.append(
                    Check.at_least(
                        f"{m}, N = {N}, L = {L}: fraction of seeds learning ICL within "
                        f"{cfg.train.steps} steps",
                        f,
                        1.0,
                        "theory: the origin is not critical for L > N",
                    )
                )
    timed = [r for r in rows if r["L"] > r["N"] and r["theory_finite"] is not None]
    for m in cfg.models:
        for a, b in combinations(timed, 2):
            ta, tb = a["theory_finite"], b["theory_finite"]
            if max(ta, tb) / min(ta, tb) < cfg.ratio_tol:
                continue
            sa, sb = a[m]["median_step"], b[m]["median_step"]
            fast, slow = (a, b) if ta < tb else (b, a)
            sf, ss = (sa, sb) if ta < tb else (sb, sa)
            ok = sf is not None and ss is not None and sf < ss
            checks.append(
                Check.holds(
                    f"{m}: (N={fast['N']}, L={fast['L']}) learns before (N={slow['N']}, L={slow['L']}) "
                    "as in theory",
                    ok,
                    f"median transition steps over {n} seeds; pairs whose theory times differ by "
                    f"≥ {cfg.ratio_tol}×",
                    f"theory ratio {max(ta, tb) / min(ta, tb):.2f}, measured "
                    f"{'n/a' if not ok else f'{ss / sf:.2f}'}",
                )
            )
    return checks


def _reference(timed: list, model: str):
    """The arm a model's transition steps are divided by: of the arms with a median (every seed learned),
    the one with the smallest N and then the largest L, the fastest in theory; None if no arm has one."""
    arms = [r for r in timed if r[model]["median_step"] is not None]
    return min(arms, key=lambda r: (r["N"], -r["L"])) if arms else None


def _num(x) -> float:
    """A saved time as a float: NaN for None (no transition)."""
    return np.nan if x is None else float(x)


def plot_transition(run, fig_dir):
    m, a = run.metrics, run.arrays
    rows, models = m["arms"], m["models"]
    seeds = m["seeds"]
    timed = [r for r in rows if r["L"] > r["N"]]
    ref = min(timed, key=lambda r: (r["N"], -r["L"]))  # smallest N, largest L: the fastest arm in theory
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    Ncurve = a["theory_curve/N"]
    mults = sorted({r["L"] // r["N"] for r in timed})
    styles = [s for s in (("o", "network", -0.06), ("^", "minimal", 0.06)) if s[1] in models]
    never = {}  # (marker, colour) -> x of every seed, in every arm, that never reached the transition
    for i, mult in enumerate(mults):
        key = f"theory_curve/L{mult}N"
        ax.plot(Ncurve, a[key] / _num(ref["theory_ideal"]), color=f"C{i}", label=f"theory, L = {mult}N")
        sel = [r for r in timed if r["L"] == mult * r["N"]]
        xs = np.array([r["N"] for r in sel], float)
        ax.plot(
            xs,
            [_num(r["theory_finite"]) / _num(ref["theory_finite"]) for r in sel],
            "s",
            mfc="none",
            color=f"C{i}",
            label="theory: finite data" if i == 0 else None,
        )
        for mk, model, dx in styles:
            own = _reference(timed, model)
            med = None if own is None else own[model]["median_step"]
            for s_i in range(len(seeds)):
                steps = [r[model]["transition_steps"][s_i] for r in sel]
                learned = [t is not None and med is not None for t in steps]
                if any(learned):  # one marker set a seed, filled: the seeds that learned
                    ys = [t / med for t, ok in zip(steps, learned, strict=True) if ok]
                    ax.plot(xs[learned] + dx, ys, mk, color=f"C{i}", alpha=0.7)
                lost = [x + dx for x, t in zip(xs, steps, strict=True) if t is None]
                never.setdefault((mk, f"C{i}"), []).extend(lost)
    lo, top = ax.get_ylim()
    for (mk, c), xs in never.items():  # open markers on the top edge: the seeds that never learned
        if xs:
            ax.plot(xs, np.full(len(xs), top), mk, mfc="none", color=c, clip_on=False)
    ax.set_ylim(lo, top)
    for mk, model, _dx in styles:
        steps = [t for r in timed for t in r[model]["transition_steps"]]
        k = sum(t is not None for t in steps)
        own = _reference(timed, model)
        label = f"simulation: {model} (seeds), {k} of {len(steps)} learned"
        if own is None and k:
            label += "; no arm where every seed learned: no reference, not drawn"
        elif own is not None and own is not ref:
            label += f"; / median of (N={own['N']}, L={own['L']})"
        ax.plot([], [], mk, color="gray", label=label)
    if any(never.values()):
        ax.plot([], [], "o", mfc="none", color="gray", label="simulation: never learned (top edge)")
    ax.set_xlabel("N")
    ax.set_ylabel(f"transition time / that of (N={ref['N']}, L={ref['L']})")
    ax.set_title("Transition time against N and L (relative)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    eq = [r for r in rows if r["L"] == r["N"]]
    for k, model in enumerate(models):
        fr = [r[model]["fraction_learning_icl"] for r in eq]
        ax.bar(np.arange(len(eq)) + 0.4 * k, fr, 0.4, label=f"simulation: {model}", color=f"C{k}")
        for i, f in enumerate(fr):
            ax.text(i + 0.4 * k, f + 0.02, f"{f:.2g}", ha="center", fontsize=8)
    ax.set_xticks(np.arange(len(eq)) + 0.2 * (len(models) - 1), [f"N = L = {r['N']}" for r in eq])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("arm with as many labels as context items (L = N)")
    ax.set_ylabel(f"fraction of {len(seeds)} seeds learning ICL")
    ax.set_title("L = N: theory stalls at the symmetric start (0)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[2]
    for k, model in enumerate(models):
        steps = [(r["theory_finite"], t) for r in timed for t in r[model]["transition_steps"]]
        pts = [(_num(x), t) for x, t in steps if t is not None]
        if pts:
            ax.plot(
                *np.array(pts, float).T,
                "o" if model == "network" else "^",
                color=f"C{k}",
                label=f"simulation: {model}",
            )
    ax.set_xlabel("finite-data theory: flow time to P(right) = ½")
    ax.set_ylabel("measured transition step")
    ax.set_title("Measured against predicted, every seed", fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, fig_dir, "transition_times")


TRANSITION = Experiment(
    "induction-head-transition",
    "transition time against N and L: nested-logit theory, minimal model, network",
    "The transition time grows with N and falls with L, and with L = N (as many labels as context items) "
    "in-context learning is not learned robustly (Reddy, 2023, §4–5).",
    TransitionConfig,
    {
        "quick": {},
        "medium": {
            "train": replace(MEDIUM_TRAIN, steps=20000),
            "Ns": (2, 4, 8),
            "L_multiples": (1, 2, 4),
            "seeds": (0, 1, 2),
        },
        "paper": {
            **PAPER,
            "data": replace(PAPER["data"], B=1),
            "Ns": (2, 4, 8),
            "L_multiples": (1, 2, 4),
            "seeds": tuple(range(5)),
        },
    },
    None,
    plot_transition,
    plan_transition,
    finish_transition,
)
