"""Theory against trained models on any classification setting: the nested-logit transition time beside the
network's and the minimal model's transition steps (docs/induction_head.md §6)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from theory.induction_head import SampledContexts, integrate_finite_nested_logits, integrate_nested_logits
from theory.induction_head.nested_logits import initial_params
from theory.validation import as_count

from ..seeding import stream_rng
from .data import DataConfig, Task
from .measures import nested_logit_state
from .training import MODELS, TrainConfig, TrainResult, get_model, train
from .transition import transition_level, transition_step

THEORY_HORIZON = 1e4
"""Flow time up to which :func:`theory_times` integrates (None beyond: no transition)."""


def theory_contexts(data: DataConfig, n: int, seed: int = 0) -> SampledContexts:
    """``n`` contexts of the training distribution of ``data`` as the finite-data model sees them: overlaps
    x_q · x_j of the target with each context item, the context labels and the target label."""
    n = as_count(n, "n")
    b = Task(data).sample(stream_rng(seed, "theory-contexts"), n, "train", dtype=np.float64)
    c = b.tokens[:, :, data.P :]
    g = np.einsum("snd,sd->sn", c[:, 0 : 2 * data.N : 2], c[:, -1])
    return SampledContexts(g, b.context_labels, b.labels, data.L)


@dataclass(frozen=True)
class TransitionComparison:
    """Theory's flow times and the trained models' transition steps at one setting.

    Attributes
    ----------
    level : float
        The transition level (B/N + 1)/2, for theory and models alike.
    theory_ideal : float or None
        Idealised nested-logit flow time (None for L = N: the symmetric start is a fixed point).
    theory_finite : float or None
        The same flow averaged over contexts sampled from this setting.
    steps : dict
        Model name → transition step (None if the run never reached the level).
    runs : dict
        Model name → :class:`~simulations.induction_head.training.TrainResult`.
    """

    level: float
    theory_ideal: float | None
    theory_finite: float | None
    steps: dict
    runs: dict


def measured_state(model, params: dict, data: DataConfig, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """The nested-logit state (β₁, α, ξ) of a model with parameters ``params``, measured on ``n`` IC
    sequences of ``data`` (:func:`~simulations.induction_head.measures.nested_logit_state`). Read at a
    model's initialisation, it is where the theory starts in the model's place (docs/induction_head.md §6,
    "The theory from the network's measured initial state")."""
    n = as_count(n, "n")
    if not isinstance(data, DataConfig):
        raise ValueError(f"data must be a DataConfig, got {type(data).__name__}")
    if data.B == 0:
        raise ValueError("data.B must be >= 1: the nested-logit state is read on bursty (IC) sequences")
    dtype = next(iter(params.values())).dtype
    batch = Task(data).sample(stream_rng(seed, "nested-logit-state"), n, "ic", dtype=dtype)
    logits, a1, a2 = get_model(model, data.P).forward(params, batch.tokens)
    return nested_logit_state(a1, a2, logits, batch)


def theory_times(data: DataConfig, contexts: int = 1000, init=0.0) -> tuple[float | None, float | None]:
    """The nested-logit flow's times from (β₁, α, ξ) = ``init`` (a float for all three, or three floats, e.g.
    a :func:`measured_state`) to the networks' transition level (docs/induction_head.md §6): idealised at
    ``data``'s N and L (None when L = N: the origin is critical) and averaged over ``contexts`` contexts
    sampled from ``data`` (None when B = 0: no context holds the target's class). Either is also None when
    the flow does not reach the level by t = :data:`THEORY_HORIZON`."""
    init = initial_params(init, 3)
    level = transition_level(data)
    ideal = (
        integrate_nested_logits(data.N, data.L, init, THEORY_HORIZON, level=level).t_transition
        if data.L > data.N
        else None
    )
    finite = (
        integrate_finite_nested_logits(
            theory_contexts(data, contexts), init, THEORY_HORIZON, level=level
        ).t_transition
        if data.B > 0
        else None
    )
    return ideal, finite


def transition_comparison(
    data: DataConfig, config: TrainConfig, models=MODELS, *, contexts: int = 1000, init=0.0
) -> TransitionComparison:
    """Train each model in ``models`` on ``data`` until its transition (or ``config.steps``) and integrate the
    nested-logit flow, idealised and on ``contexts`` sampled contexts, from (β₁, α, ξ) = ``init`` (a float
    for all three, or three floats).

    Gradient-flow time and SGD steps are different units: compare orderings and ratios across settings.
    """
    level = transition_level(data)
    ideal, finite = theory_times(data, contexts, init)
    cfg = config if config.stop_at_ic else replace(config, stop_at_ic=level)
    runs: dict[str, TrainResult] = {m: train(data, cfg, m) for m in models}
    return TransitionComparison(
        level, ideal, finite, {m: transition_step(r.history, data) for m, r in runs.items()}, runs
    )
