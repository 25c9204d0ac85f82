"""Every experiment of the package, by name, in the order ``reproduce`` runs them (cheapest theory first)."""

from __future__ import annotations

import difflib

from .induction_head import curves, data_dependence, initial_state, nested_logits, side_by_side, transition
from .kit import Experiment
from .linear_attention import flow, nonlinear, random_cov, risk, symbolic

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        symbolic.EXPERIMENT,
        flow.FLOW,
        flow.RANDOM_INIT,
        risk.RISK,
        risk.SHIFTS,
        random_cov.RANDOM_COV,
        nonlinear.NONLINEAR,
        nested_logits.NESTED_LOGITS,
        curves.CURVES,
        curves.MINIMAL,
        side_by_side.SIDE_BY_SIDE,
        transition.TRANSITION,
        initial_state.INITIAL_STATE,
        data_dependence.DATA_DEPENDENCE,
    )
}


def get(name: str) -> Experiment:
    """The experiment called ``name``; a ValueError that suggests the closest names otherwise."""
    if name in EXPERIMENTS:
        return EXPERIMENTS[name]
    close = difflib.get_close_matches(name, EXPERIMENTS, n=3, cutoff=0.4)
    close += [n for n in EXPERIMENTS if name and name in n and n not in close]
    hint = f"; did you mean {' or '.join(close[:3])}?" if close else ""
    raise ValueError(f"unknown experiment {name!r}{hint} (icl-dynamics list shows them all)")
