"""Gradient-flow theory of one-layer linear self-attention on in-context linear regression.

Zhang, Frei & Bartlett (2023), "Trained Transformers Learn Linear Models In-Context"; the derivations are
in docs/linear_attention.md.
"""

from . import symbolic
from .covariances import geometric_spectrum, toeplitz
from .flow import (
    ConvergenceConditionWarning,
    FlowResult,
    convergence_margin,
    default_theta,
    integrate_flow,
    paper_sigma,
    pl_rate,
)
from .learning_rate import label_fourth_moment, stable_lr
from .moments import (
    gamma,
    gamma_eigenvalues,
    global_minimizer,
    limiting_weights,
    loss_gap,
    minimum_loss,
    population_loss,
    population_loss_grad,
)
from .random_cov import RandomDiagonalCovariance
from .risk import isotropic_risk, predict, risk_bound, test_risk, theorem42_decomposition

__all__ = [
    "ConvergenceConditionWarning",
    "FlowResult",
    "RandomDiagonalCovariance",
    "convergence_margin",
    "default_theta",
    "gamma",
    "gamma_eigenvalues",
    "geometric_spectrum",
    "global_minimizer",
    "integrate_flow",
    "isotropic_risk",
    "label_fourth_moment",
    "limiting_weights",
    "loss_gap",
    "minimum_loss",
    "paper_sigma",
    "pl_rate",
    "population_loss",
    "population_loss_grad",
    "predict",
    "risk_bound",
    "stable_lr",
    "symbolic",
    "test_risk",
    "theorem42_decomposition",
    "toeplitz",
]
