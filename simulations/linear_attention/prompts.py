"""Vectorised sampler of in-context linear-regression prompts (docs/linear_attention.md §1, §4–6)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from theory.validation import as_count, as_covariance, as_nonnegative, as_positive, as_psd


@dataclass(frozen=True)
class Prompts:
    """A batch of prompts.

    Attributes
    ----------
    X : (B, M, d) covariates;  y : (B, M) labels;  x_query : (B, d);  y_query : (B,) target
    (wᵀx_q, plus label noise if ``target_noise``);  w : (B, d) tasks.
    """

    X: np.ndarray
    y: np.ndarray
    x_query: np.ndarray
    y_query: np.ndarray
    w: np.ndarray


_COVS = ("cov", "query_cov", "task_cov")


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    ev, vec = np.linalg.eigh(a)
    return (vec * np.sqrt(np.clip(ev, 0, None))) @ vec.T


@dataclass(frozen=True)
class PromptDistribution:
    """Law of a prompt: x_i ~ N(0, S), x_q ~ N(0, Q), w ~ N(0, W), y_i = wᵀx_i + N(0, s²).

    Parameters
    ----------
    d : int
        Covariate dimension.
    cov : (d, d) array_like, optional
        S, the prompt covariance (default I). Ignored when ``random_cov`` is set.
    query_cov : (d, d) array_like, optional
        Q (query shift); default S (or the prompt's own Λ_τ).
    task_cov : (d, d) array_like, optional
        W (task shift); default I.
    noise_var : float
        s², label noise of the prompt labels.
    target_noise : bool
        Whether y_q carries label noise too.
    random_cov : {None, "exponential"}
        Each prompt draws its own diagonal Λ_τ with iid Exp(``random_scale``) entries
        (docs/linear_attention.md §6).
    random_scale : float
        Mean of the Exp entries.
    fixed_task : (d,) array_like, optional
        Use this w in every prompt instead of drawing it (task shift with a fixed, e.g. large, w).
    """

    d: int
    cov: np.ndarray | None = None
    query_cov: np.ndarray | None = None
    task_cov: np.ndarray | None = None
    noise_var: float = 0.0
    target_noise: bool = False
    random_cov: str | None = None
    random_scale: float = 1.0
    fixed_task: np.ndarray | None = None

    def __post_init__(self):
        d = as_count(self.d, "d")
        object.__setattr__(self, "d", d)
        if self.cov is not None:
            object.__setattr__(self, "cov", as_covariance(self.cov, "cov", d))
        if self.query_cov is not None:
            object.__setattr__(self, "query_cov", as_psd(self.query_cov, "query_cov", d))
        if self.task_cov is not None:
            object.__setattr__(self, "task_cov", as_psd(self.task_cov, "task_cov", d))
        as_nonnegative(self.noise_var, "noise_var")
        if self.random_cov not in (None, "exponential"):
            raise ValueError(f"random_cov must be None or 'exponential', got {self.random_cov!r}")
        as_positive(self.random_scale, "random_scale")
        if self.fixed_task is not None:
            w = np.asarray(self.fixed_task, dtype=np.float64)
            if w.shape != (d,) or not np.all(np.isfinite(w)):
                raise ValueError(f"fixed_task must be a finite vector of shape ({d},), got {w.shape}")
            object.__setattr__(self, "fixed_task", w)

    @cached_property
    def _roots(self) -> dict:
        """S^{1/2}, Q^{1/2} and W^{1/2} (None for an identity default), computed once per distribution."""
        return {k: None if getattr(self, k) is None else _sqrt_psd(getattr(self, k)) for k in _COVS}

    def sample(self, rng: np.random.Generator, batch: int, M: int) -> Prompts:
        """Draw ``batch`` prompts of length ``M`` (all arrays float64)."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        batch, M = as_count(batch, "batch"), as_count(M, "M")
        d = self.d
        z = rng.standard_normal((batch, M + 1, d))
        if self.random_cov == "exponential":
            lam = rng.exponential(self.random_scale, size=(batch, d))
            x_all = z * np.sqrt(lam)[:, None, :]
        else:
            x_all = z if self.cov is None else z @ self._roots["cov"]
        X = x_all[:, :M]
        if self.query_cov is None:
            xq = x_all[:, M]
        else:
            xq = z[:, M] @ self._roots["query_cov"]
        w = rng.standard_normal((batch, d))
        if self.fixed_task is not None:
            w = np.broadcast_to(self.fixed_task, (batch, d))
        elif self.task_cov is not None:
            w = w @ self._roots["task_cov"]
        y = (X @ w[:, :, None])[:, :, 0]
        yq = np.einsum("bd,bd->b", xq, w)
        if self.noise_var > 0:  # without noise the draws would be multiplied by 0: skip them
            s = np.sqrt(self.noise_var)
            y += s * rng.standard_normal((batch, M))
            if self.target_noise:
                yq = yq + s * rng.standard_normal(batch)
        return Prompts(X, y, xq, yq, w)
