"""In-context linear regression: prompt sampler, the LSA network, its trainer and experiments."""
from .lsa import embed, forward, loss_and_grads, paper_init, predict, random_init
from .prompts import PromptDistribution, Prompts
from .train import TrainResult, train

__all__ = ["PromptDistribution", "Prompts", "TrainResult", "embed", "forward", "loss_and_grads",
           "paper_init", "predict", "random_init", "train"]
