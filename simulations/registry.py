"""The experiment registry: each experiment is a named, configurable unit with profiles."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import to_dict, with_overrides
from .results import SavedRun, load_run, save_run


@dataclass(frozen=True)
class Outcome:
    """What an experiment's ``run`` returns: JSON metrics (with ``checks``) and named arrays."""

    metrics: dict
    arrays: dict


@dataclass(frozen=True)
class Experiment:
    """A named experiment.

    Attributes
    ----------
    name, description : str
    config_cls : frozen dataclass type; its defaults are the quick profile.
    profiles : dict of profile name -> field overrides ("quick" is the defaults).
    run : (config, progress: bool) -> Outcome
    plot : (SavedRun, figures_dir: Path) -> list[Path]
    """

    name: str
    description: str
    config_cls: type
    profiles: dict
    run: Callable
    plot: Callable

    def config(self, profile: str = "quick", overrides=()):
        if profile not in self.profiles:
            raise ValueError(f"profile must be one of {sorted(self.profiles)}, got {profile!r}")
        return with_overrides(dataclasses.replace(self.config_cls(), **self.profiles[profile]), overrides)


_REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    _REGISTRY[exp.name] = exp
    return exp


def experiments() -> dict[str, Experiment]:
    """All registered experiments, in registration order."""
    from .linear_regression import experiments as _lr  # noqa: F401  (importing registers them)
    from .classification import exp_nested_logits as _nl  # noqa: F401
    from .classification import experiments as _cl  # noqa: F401
    from .classification import exp_side_by_side as _sb  # noqa: F401
    from .classification import exp_transition as _tr  # noqa: F401
    from .classification import exp_data_dependence as _dd  # noqa: F401
    return dict(_REGISTRY)


def get(name: str) -> Experiment:
    exps = experiments()
    if name not in exps:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(exps)}")
    return exps[name]


def run_experiment(name: str, *, profile: str = "quick", overrides=(), out="results",
                   progress: bool = False) -> SavedRun:
    """Run, save atomically, draw the figures from the saved files, and return the saved run."""
    exp = get(name)
    cfg = exp.config(profile, overrides)
    outcome = exp.run(cfg, progress)
    path = save_run(out, name, to_dict(cfg), outcome.metrics, outcome.arrays, profile)
    return redraw(path)


def redraw(run_dir) -> SavedRun:
    """(Re)draw a saved run's figures from its files only."""
    run = load_run(run_dir)
    fig_dir = Path(run_dir) / "figures"
    fig_dir.mkdir(exist_ok=True)
    get(run.experiment).plot(run, fig_dir)
    return run
