"""Gradient-flow theory of one-layer linear self-attention on in-context linear regression.

Zhang, Frei & Bartlett (2023); spec: shared/spec/linear_attention.md; derivations: docs/linear_attention.md.
"""
from . import symbolic
from .flow import (ConvergenceConditionWarning, FlowResult, convergence_margin, default_theta,
                   integrate_flow, pl_rate)
from .moments import (gamma, global_minimizer, limiting_weights, loss_gap, minimum_loss,
                      population_loss, population_loss_grad)
from .random_cov import RandomDiagonalCovariance
from .risk import isotropic_risk, predict, risk_bound, test_risk, theorem42_decomposition

__all__ = [
    "ConvergenceConditionWarning", "FlowResult", "RandomDiagonalCovariance", "convergence_margin",
    "default_theta", "gamma", "global_minimizer", "integrate_flow", "isotropic_risk", "limiting_weights",
    "loss_gap", "minimum_loss", "pl_rate", "population_loss", "population_loss_grad", "predict",
    "risk_bound", "symbolic", "test_risk", "theorem42_decomposition",
]
