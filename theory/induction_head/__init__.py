"""Theory of abrupt in-context learning in the classification task (Reddy, 2023; docs/induction_head.md
§6)."""

from .finite_data import SampledContexts, finite_data_loss, integrate_finite_nested_logits
from .nested_logits import (
    NestedLogitTrajectory,
    growth_order,
    integrate_nested_logits,
    model,
    nested_logit_loss,
    origin_gradient,
    origin_is_critical_iff_L_equals_N,
    progress_analogues,
)
from .transition import transition_times

__all__ = [
    "NestedLogitTrajectory",
    "SampledContexts",
    "finite_data_loss",
    "growth_order",
    "integrate_finite_nested_logits",
    "integrate_nested_logits",
    "model",
    "nested_logit_loss",
    "origin_gradient",
    "origin_is_critical_iff_L_equals_N",
    "progress_analogues",
    "transition_times",
]
