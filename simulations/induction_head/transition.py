"""When a run learns in context, and whether it learned by an induction head (docs/induction_head.md §4).

The transition step of a run is the first evaluation at which its IC accuracy reaches the level halfway
between the plateau B/N and 1 (:func:`transition_level`). "ICL learned" is stricter than a high IC
accuracy: :func:`icl_learned` also asks the swapped-label accuracy IC2 to be well above the plateau (an
in-weights solution scores ≈ 0 there) and the induction-head measures ILA1 and TILA2 to have grown well
above their values at initialisation, so that a network sitting on the B/N plateau never passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import DataConfig


def _check_data(data) -> DataConfig:
    if not isinstance(data, DataConfig):
        raise ValueError(f"data must be a DataConfig, got {type(data).__name__}")
    return data


def _check_history(history, keys) -> dict:
    if not isinstance(history, dict) or not all(k in history for k in keys):
        raise ValueError(
            f"history must be a dict with the arrays {', '.join(keys)} (a TrainResult's history)"
        )
    if len({len(history[k]) for k in keys}) != 1 or len(history[keys[0]]) == 0:
        raise ValueError(f"history arrays {', '.join(keys)} must be non-empty and of equal length")
    return history


def plateau(data: DataConfig) -> float:
    """The slow phase's IC accuracy B/N: one label among the N/B distinct ones in context (1/N for B = 0)."""
    return max(_check_data(data).B, 1) / data.N


def transition_level(data: DataConfig) -> float:
    """IC accuracy halfway between the plateau B/N (1/N for B = 0) and 1."""
    return (plateau(data) + 1) / 2


def crossing(steps, values, level):
    """First step at which ``values`` reaches ``level`` (None if never)."""
    idx = np.nonzero(np.asarray(values) >= level)[0]
    return float(np.asarray(steps)[idx[0]]) if len(idx) else None


def midpoint(t, v):
    """First time ``v`` reaches halfway between its first and last value, rising or falling (None if
    never)."""
    v = np.asarray(v, float)
    sign = 1.0 if v[-1] >= v[0] else -1.0
    return crossing(np.asarray(t, float), sign * v, sign * (v[0] + v[-1]) / 2)


def transition_step(history: dict, data: DataConfig):
    """The run's transition step: first evaluation with IC accuracy >= :func:`transition_level` (or None).

    Parameters
    ----------
    history : dict
        A training history (``step`` and ``acc_ic`` arrays), as in
        :class:`~simulations.induction_head.training.TrainResult`.
    data : DataConfig
        The run's data (its B and N set the level).
    """
    _check_history(history, ("step", "acc_ic"))
    return crossing(history["step"], history["acc_ic"], transition_level(data))


@dataclass(frozen=True)
class Criteria:
    """Margins of the "learned" verdicts; the defaults are justified in docs/induction_head.md §4.

    Attributes
    ----------
    icl_margin : float
        IC and IC2 must exceed the plateau B/N by this much.
    head_margin : float
        ILA1 and TILA2 must exceed their values at step 0 by this much.
    iwl_margin : float
        IW must exceed chance 1/L by this much.
    """

    icl_margin: float = 0.2
    head_margin: float = 0.2
    iwl_margin: float = 0.2


def icl_learned(history: dict, data: DataConfig, criteria: Criteria = Criteria(), at: int = -1) -> bool:
    """In-context learning by an induction head at evaluation ``at`` (default the last): IC and IC2 above
    B/N + margin, ILA1 and TILA2 above their initial values + margin."""
    _check_history(history, ("acc_ic", "acc_ic2", "ILA1", "TILA2"))
    top = plateau(data) + criteria.icl_margin
    heads = all(history[k][at] >= history[k][0] + criteria.head_margin for k in ("ILA1", "TILA2"))
    return bool(history["acc_ic"][at] >= top and history["acc_ic2"][at] >= top and heads)


def iwl_learned(history: dict, data: DataConfig, criteria: Criteria = Criteria(), at: int = -1) -> bool:
    """In-weights learning at evaluation ``at``: IW accuracy above 1/L + margin."""
    _check_history(history, ("acc_iw",))
    return bool(history["acc_iw"][at] >= 1 / _check_data(data).L + criteria.iwl_margin)


def summarise(history: dict, data: DataConfig) -> dict:
    """Transition step, plateau reading, final accuracies and each progress measure's midpoint step.

    The plateau is read at 3/4 of the transition step (the jump lasts about 1/5 of it).
    """
    _check_history(history, ("step", "acc_ic", "acc_ic2", "acc_iw", "ILA1", "TILA2", "TLA2", "CLA"))
    s = history["step"]
    t_ic = transition_step(history, data)
    out = {
        "transition_step": t_ic,
        **{f"final_{k}": float(history[k][-1]) for k in ("acc_ic", "acc_ic2", "acc_iw")},
        "icl_learned": icl_learned(history, data),
        "iwl_learned": iwl_learned(history, data),
    }
    if t_ic is not None:
        i = int(np.argmin(np.abs(s - 0.75 * t_ic)))
        out["plateau_step"], out["plateau_acc_ic"] = float(s[i]), float(history["acc_ic"][i])
    for k in ("ILA1", "TILA2", "TLA2", "CLA"):
        out[f"{k}_midpoint_step"] = midpoint(s, history[k])
    return out
