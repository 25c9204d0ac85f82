"""In-context linear regression: the prompt sampler, the LSA network, its trainer, Monte Carlo risk and
baselines, and the comparison of the reduced flow with a trained network (Zhang, Frei & Bartlett, 2023)."""

from .baselines import mc_risk, ols_predict, optimal_ridge_penalty, ridge_predict, zero_predict
from .batched import train_batched
from .compare import FlowComparison, flow_vs_network
from .network import effective_matrix, embed, forward, loss_and_grads, paper_init, predict, random_init
from .prompts import PromptDistribution, Prompts
from .training import AveragingWindowWarning, TrainConfig, TrainResult, train

__all__ = [
    "AveragingWindowWarning",
    "FlowComparison",
    "PromptDistribution",
    "Prompts",
    "TrainConfig",
    "TrainResult",
    "effective_matrix",
    "embed",
    "flow_vs_network",
    "forward",
    "loss_and_grads",
    "mc_risk",
    "ols_predict",
    "optimal_ridge_penalty",
    "paper_init",
    "predict",
    "random_init",
    "ridge_predict",
    "train",
    "train_batched",
    "zero_predict",
]
