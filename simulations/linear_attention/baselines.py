"""Monte Carlo risk of any in-context predictor, and the baselines it is compared with.

Every predictor maps a batch of :class:`~simulations.linear_attention.prompts.Prompts` to predictions
ŷ of shape (B,): the LSA network, the closed-form predictor x_qᵀ V ĥ, least squares, ridge, zero.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from theory.validation import as_count, as_nonnegative

from .prompts import PromptDistribution, Prompts


def mc_risk(
    predict: Callable[[Prompts], np.ndarray],
    dist: PromptDistribution,
    M: int,
    n: int,
    rng: np.random.Generator,
    chunk: int = 2000,
) -> tuple[float, float]:
    """Monte Carlo estimate of E(ŷ − y_q)² over ``n`` prompts of length ``M``, and its standard error.

    Returns
    -------
    (mean, standard error)
    """
    M, n, chunk = as_count(M, "M"), as_count(n, "n", 2), as_count(chunk, "chunk")
    errs = []
    for start in range(0, n, chunk):
        pr = dist.sample(rng, min(chunk, n - start), M)
        errs.append((predict(pr) - pr.y_query) ** 2)
    e = np.concatenate(errs)
    return float(e.mean()), float(e.std(ddof=1) / np.sqrt(len(e)))


def ols_predict(pr: Prompts) -> np.ndarray:
    """Least-squares prediction x_qᵀ ŵ, ŵ = X⁺y (the minimum-norm solution when M < d)."""
    w_hat = np.linalg.pinv(pr.X) @ pr.y[..., None]
    return np.einsum("bd,bd->b", pr.x_query, w_hat[..., 0])


def ridge_predict(lam: float) -> Callable[[Prompts], np.ndarray]:
    """The ridge predictor x_qᵀ (XᵀX + λI)⁻¹ Xᵀy with penalty ``lam`` >= 0 (λ = 0: :func:`ols_predict`).

    :func:`optimal_ridge_penalty` gives the Bayes-optimal λ.
    """
    lam = as_nonnegative(lam, "lam")
    if lam == 0:
        return ols_predict

    def predict(pr: Prompts) -> np.ndarray:
        d = pr.X.shape[-1]
        A = np.swapaxes(pr.X, 1, 2) @ pr.X + lam * np.eye(d)
        w_hat = np.linalg.solve(A, np.einsum("bmd,bm->bd", pr.X, pr.y)[..., None])[..., 0]
        return np.einsum("bd,bd->b", pr.x_query, w_hat)

    return predict


def optimal_ridge_penalty(noise_var: float, task_var: float = 1.0) -> float:
    """λ* = s² / τ², the posterior-mean (Bayes-optimal) ridge penalty for w ~ N(0, τ² I), noise N(0, s²).

    In the noiseless case λ* = 0 (the posterior mean is then the minimum-norm interpolant).
    """
    return as_nonnegative(noise_var, "noise_var") / max(as_nonnegative(task_var, "task_var"), 1e-300)


def zero_predict(pr: Prompts) -> np.ndarray:
    """The zero predictor ŷ = 0 (risk E(wᵀx_q)² = tr(WQ))."""
    return np.zeros(pr.x_query.shape[0])
