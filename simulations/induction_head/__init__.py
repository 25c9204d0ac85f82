"""In-context classification (Reddy, 2023): bursty data, the two-layer attention network, the minimal
induction-head model, their trainer, transition analysis, and the comparison with the nested-logit theory."""

from . import network
from .batched import train_batched
from .compare import (
    TransitionComparison,
    measured_state,
    theory_contexts,
    theory_times,
    transition_comparison,
)
from .data import Batch, DataConfig, Task
from .measures import accuracy, nested_logit_state, progress_measures
from .minimal import MinimalInductionHead
from .training import MODELS, ResumedWarning, TrainConfig, TrainResult, evaluate, get_model, sgd_update, train
from .transition import (
    Criteria,
    crossing,
    icl_learned,
    iwl_learned,
    midpoint,
    plateau,
    summarise,
    transition_level,
    transition_step,
)

__all__ = [
    "MODELS",
    "Batch",
    "Criteria",
    "DataConfig",
    "MinimalInductionHead",
    "ResumedWarning",
    "Task",
    "TrainConfig",
    "TrainResult",
    "TransitionComparison",
    "accuracy",
    "crossing",
    "evaluate",
    "get_model",
    "icl_learned",
    "iwl_learned",
    "measured_state",
    "midpoint",
    "nested_logit_state",
    "network",
    "plateau",
    "progress_measures",
    "sgd_update",
    "summarise",
    "theory_contexts",
    "theory_times",
    "train",
    "train_batched",
    "transition_comparison",
    "transition_level",
    "transition_step",
]
