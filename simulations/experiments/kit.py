"""The experiment kit: checks, outcomes, the context and the experiment record (the training worker is
:mod:`.jobs`).

An experiment is a named unit with a config class, profiles, a ``run(config, context) -> Outcome`` or a
pair ``plan(config) -> jobs`` and ``finish(config, results, context) -> Outcome``, and a
``plot(saved_run, figures_dir)`` that draws from saved files only. Its claims are :class:`Check` objects
built by the constructors below, one per kind of comparison the package makes; each carries its tolerance
and the reason for it, and for each kind a test perturbs one side past the tolerance and sees it fail.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import replace_paths, resolve, with_overrides
from ..executors import InProcessExecutor
from .jobs import run_jobs


def _f(x) -> float:
    return float("nan") if x is None else float(x)


def is_binding(kind: str) -> bool:
    """Whether a check of this kind is binding: its failure is a defect (every kind but ``finding``)."""
    return kind != "finding"


@dataclass(frozen=True)
class Check:
    """One claim, checked: passes iff ``discrepancy`` is finite and <= ``tolerance``.

    Attributes
    ----------
    name : str
    theory, simulation : float
        The two sides (for a bound: the bound and the measured value; for a claim that holds or not: 1, and
        1 or 0).
    discrepancy, tolerance : float
    why : str
        Where the tolerance comes from (a Monte Carlo standard error, an integrator tolerance...).
    kind : str
        The constructor that made it: value, relative, monte_carlo, trajectory, endpoint, bound, threshold,
        holds, direction, finding. A *finding* records whether a paper's claim shows at the setting run; it
        enters the experiment's verdict but not the exit status of ``validate``/``reproduce``
        (:attr:`binding`).
    detail : str
        Extra measured context (a bound's tightness, the number of trajectory points...).
    """

    name: str
    theory: float
    simulation: float
    discrepancy: float
    tolerance: float
    why: str
    kind: str = "value"
    detail: str = ""

    @property
    def passed(self) -> bool:
        return bool(math.isfinite(self.discrepancy) and self.discrepancy <= self.tolerance)

    @property
    def binding(self) -> bool:
        """Whether a failure is a defect (every kind but ``finding``)."""
        return is_binding(self.kind)

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "passed": self.passed, "binding": self.binding}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def value(cls, name, theory, simulation, tolerance, why) -> Check:
        """abs(theory − simulation) <= tolerance."""
        t, s = _f(theory), _f(simulation)
        return cls(name, t, s, abs(t - s), float(tolerance), why, "value")

    @classmethod
    def relative(cls, name, theory, simulation, tolerance, why) -> Check:
        """abs(theory − simulation) / abs(theory) <= tolerance."""
        t, s = _f(theory), _f(simulation)
        return cls(name, t, s, abs(t - s) / abs(t) if t else math.inf, float(tolerance), why, "relative")

    @classmethod
    def monte_carlo(cls, name, formula, estimate, standard_error, n_se: float = 4.0) -> Check:
        """A closed form against a Monte Carlo mean: abs(formula − estimate) <= n_se standard errors."""
        t, s, se = _f(formula), _f(estimate), _f(standard_error)
        if not se > 0:
            return cls(
                name, t, s, math.inf, 0.0, "no standard error: the estimate has no spread", "monte_carlo"
            )
        return cls(
            name,
            t,
            s,
            abs(t - s),
            n_se * se,
            f"{n_se:g} Monte Carlo standard errors (s.e. {se:.3g})",
            "monte_carlo",
            f"{abs(t - s) / se:.2f} s.e.",
        )

    @classmethod
    def trajectory(
        cls, name, t, theory, simulation, tolerance, why, *, scale: float = 1.0, min_points: int = 20
    ) -> Check:
        """Two trajectories on common times ``t``: max abs(theory − simulation) / scale <= tolerance, over at
        least ``min_points`` points (fewer is a failure: the comparison would show too little)."""
        th, si = np.asarray(theory, float), np.asarray(simulation, float)
        n = len(np.asarray(t))
        worst = float(np.max(np.abs(th - si)) / scale) if n else math.inf
        at = int(np.argmax(np.abs(th - si))) if n else 0
        if n < min_points:
            return cls(
                name,
                _f(th[at]) if n else math.nan,
                _f(si[at]) if n else math.nan,
                math.inf,
                float(tolerance),
                why,
                "trajectory",
                f"only {n} points (at least {min_points} needed)",
            )
        return cls(
            name,
            float(th[at]),
            float(si[at]),
            worst,
            float(tolerance),
            why,
            "trajectory",
            f"{n} points over t ∈ [{float(np.min(t)):.3g}, {float(np.max(t)):.3g}]; worst at t = "
            f"{float(np.asarray(t)[at]):.3g}",
        )

    @classmethod
    def endpoint(cls, name, theory, simulation, tolerance, why) -> Check:
        """A point in parameter space: ‖simulation − theory‖_F / ‖theory‖_F <= tolerance."""
        th, si = np.asarray(theory, float), np.asarray(simulation, float)
        err = float(np.linalg.norm(si - th) / np.linalg.norm(th))
        return cls(
            name,
            float(np.linalg.norm(th)),
            float(np.linalg.norm(si)),
            err,
            float(tolerance),
            why,
            "endpoint",
            "relative Frobenius error",
        )

    @classmethod
    def bound(cls, name, bound, actual, why, *, slack: float = 1e-6, detail: str = "") -> Check:
        """actual <= bound everywhere (arrays compared pointwise), up to a relative ``slack``.

        ``detail`` reports the tightness max(actual / bound): 1 means the bound binds somewhere, 1e-3 that it
        is a thousand times loose (a bound that is equal at a start, as e^{−μt}·gap(0) at t = 0, says more by
        a ``detail`` of the caller's).
        """
        b, a = np.atleast_1d(np.asarray(bound, float)), np.atleast_1d(np.asarray(actual, float))
        ratio = a / b
        worst = int(np.argmax(ratio))
        tight = float(ratio[worst])
        return cls(
            name,
            float(b[worst]),
            float(a[worst]),
            max(0.0, tight - 1.0),
            float(slack),
            why,
            "bound",
            detail or f"tightness max(actual/bound) = {tight:.3g}",
        )

    @classmethod
    def at_least(cls, name, value, threshold, why) -> Check:
        """value >= threshold (a one-sided claim: the theory side is the threshold)."""
        v, t = _f(value), _f(threshold)
        return cls(name, t, v, max(0.0, t - v) if math.isfinite(v) else math.inf, 0.0, why, "threshold")

    @classmethod
    def at_most(cls, name, value, threshold, why) -> Check:
        """value <= threshold."""
        v, t = _f(value), _f(threshold)
        return cls(name, t, v, max(0.0, v - t) if math.isfinite(v) else math.inf, 0.0, why, "threshold")

    @classmethod
    def holds(cls, name, ok: bool, why, detail: str = "") -> Check:
        """A claim that holds or not (an ordering, an exact symbolic identity)."""
        ok = bool(ok)
        return cls(name, 1.0, 1.0 if ok else 0.0, 0.0 if ok else 1.0, 0.0, why, "holds", detail)

    @classmethod
    def direction(cls, name, values, sign: int, tolerance, why) -> Check:
        """``values`` along an axis move in direction ``sign`` (+1 up, −1 down): the end points change by at
        least ``tolerance`` and no step between neighbours reverses by more than it."""
        v, tol = np.asarray(values, float), float(tolerance)
        change = sign * (v[-1] - v[0])
        reversal = max(0.0, float(np.max(-sign * np.diff(v)))) if len(v) > 1 else 0.0
        return cls(
            name,
            sign * tol,
            float(v[-1] - v[0]),
            max(0.0, tol - change, reversal - tol),
            0.0,
            why,
            "direction",
            f"values {np.round(v, 3).tolist()}",
        )

    @classmethod
    def finding(cls, name, ok: bool, why, detail: str = "") -> Check:
        """Whether a paper's claim shows at this setting: reported either way, never a defect (``binding``
        is False). For claims that depend on the training budget, such as a mechanism forming by the
        last step; what the package guarantees stays a binding check."""
        return dataclasses.replace(cls.holds(name, ok, why, detail), kind="finding")


@dataclass(frozen=True)
class Outcome:
    """What an experiment's ``run`` returns.

    Attributes
    ----------
    summary : dict
        JSON-ready results the figures and the report read (no arrays).
    arrays : dict
        Named arrays saved in ``arrays.npz``.
    checks : tuple of Check
    """

    summary: dict
    arrays: dict
    checks: tuple = ()

    def metrics(self) -> dict:
        """The JSON written as ``metrics.json``: the summary and the checks."""
        return {**self.summary, "checks": [c.as_dict() for c in self.checks]}


@dataclass
class Context:
    """How an experiment runs: where its training jobs execute (``executor``), whether progress is shown,
    where finished jobs and checkpoints are kept (``checkpoint_dir``; None: nowhere) and how many same-shape
    training runs may share one task on stacked weights (``batch_runs``)."""

    executor: Executor = field(default_factory=InProcessExecutor)
    progress: bool = False
    checkpoint_dir: Path | None = None
    batch_runs: int = 1

    def map(self, fn, *iterables) -> list:
        """``fn`` over the zipped arguments by the executor's ``map``: in parallel when it has workers,
        results in order, the waiting calls cancelled if one raises. ``fn`` must be a module-level function
        for process and Dask executors."""
        return list(self.executor.map(fn, *iterables))


@dataclass(frozen=True)
class Experiment:
    """A named experiment.

    Attributes
    ----------
    name : str
    description : str
        One line: what it runs.
    claim : str
        The paper's claim it tests, in one sentence (for the report).
    config_cls : type
        A frozen dataclass; its defaults are the quick profile.
    profiles : dict
        Profile name -> {field path: value} overrides of the defaults ("quick" is the defaults).
    run : (config, Context) -> Outcome, or None when ``plan`` and ``finish`` are given
    plot : (SavedRun, figures_dir) -> list of paths
    plan : (config) -> list of :class:`~simulations.experiments.jobs.Job`, optional
        The training runs the experiment needs; with ``finish`` it lets a sweep group the training runs of
        many cells into batched tasks.
    finish : (config, results, Context) -> Outcome, optional
        The analysis of the planned runs' results (in plan order).
    """

    name: str
    description: str
    claim: str
    config_cls: type
    profiles: dict
    run: Callable | None
    plot: Callable
    plan: Callable | None = None
    finish: Callable | None = None

    def execute(self, config, ctx: Context) -> Outcome:
        """Run the experiment: ``run``, or ``finish`` on the trained results of ``plan``."""
        if self.plan is None:
            return self.run(config, ctx)
        return self.finish(config, run_jobs(self.plan(config), ctx), ctx)

    def config(self, profile: str = "quick", overrides=()):
        """The config of a profile with ``--set``-style ``name=value`` overrides applied (validated)."""
        if profile not in self.profiles:
            raise ValueError(f"profile must be one of {', '.join(self.profiles)}, got {profile!r}")
        cfg = self.config_cls()
        profile_values = self.profiles[profile].items()
        cfg = replace_paths(cfg, {resolve(cfg, name): value for name, value in profile_values})
        return with_overrides(cfg, overrides)
