r"""Training protocol shared by the LSA experiments: covariances, σ, a stable learning rate, Monte Carlo risk.

Learning-rate rule (docs/linear_attention.md, "Training the network"): the full-parameter loss has a
direction the reduced ODE never sees, w21^{KQ}, which enters ŷ as u (Σ_i y_i²/N) w21ᵀ x_q. Its curvature
is ≈ u*² E[(wᵀΛw)²] with u*² = ‖Γ⁻¹‖_F, far above the reduced flow's (≈ ‖Γ‖) once d ≳ 5; SGD is
stable for lr < 2/curvature, and we use lr = lr_factor / (‖Γ⁻¹‖_F E[(wᵀΛw)²]).
"""
from __future__ import annotations

import numpy as np

from theory.linear_attention import RandomDiagonalCovariance, gamma, global_minimizer, integrate_flow

from . import lsa
from .prompts import PromptDistribution
from .train import train


def anisotropic_cov(d: int, kappa: float) -> np.ndarray:
    """Diagonal Λ with eigenvalues geometrically spaced in [κ^{-1/2}, κ^{1/2}] (condition number κ)."""
    return np.diag(np.geomspace(kappa**-0.5, kappa**0.5, d)) if d > 1 else np.eye(1)


def paper_sigma(cov, N: int, factor: float) -> float:
    """σ with σ² ‖Γ‖_op √d = factor (the paper's condition asks factor < 2)."""
    d = np.asarray(cov).shape[0]
    return float(np.sqrt(factor / (np.linalg.norm(gamma(cov, N), 2) * np.sqrt(d))))


def fourth_moment_label_norm(cov=None, law: RandomDiagonalCovariance | None = None) -> float:
    """E[(wᵀΛw)²] for w ~ N(0, I): (tr Λ)² + 2 tr Λ² for fixed Λ; Σ_ij E[λ_iλ_j] E[w_i²w_j²] for a law."""
    if law is None:
        lam = np.asarray(cov, float)
        return float(np.trace(lam) ** 2 + 2 * np.trace(lam @ lam))
    d = law.d
    # E[λ_iλ_j] from the moments: m2 on the diagonal, m1 m1 off it (independent entries)
    Ell = np.outer(law.m1, law.m1)
    Ell[np.diag_indices(d)] = law.m2
    Eww = np.ones((d, d)) + 2 * np.eye(d)  # E[w_i² w_j²]
    return float(np.sum(Ell * Eww))


def stable_lr(cov, N: int, factor: float = 1.0, law: RandomDiagonalCovariance | None = None) -> float:
    """lr = factor / (‖V*‖_F E[(wᵀΛw)²]) with V* the minimiser (Γ⁻¹, or the §6 one for a law)."""
    vstar = law.minimizer(N) if law is not None else global_minimizer(cov, N)
    return float(factor / (np.linalg.norm(vstar) * fourth_moment_label_norm(cov, law)))


def mc_risk(predict_fn, dist: PromptDistribution, M: int, n: int, rng: np.random.Generator,
            chunk: int = 2000) -> tuple[float, float]:
    """Monte Carlo estimate of E(ŷ − y_q)² and its standard error over ``n`` prompts of length M.

    ``predict_fn(prompts) -> (B,)``. Returns (mean, standard error).
    """
    errs = []
    for start in range(0, n, chunk):
        pr = dist.sample(rng, min(chunk, n - start), M)
        errs.append((predict_fn(pr) - pr.y_query) ** 2)
    e = np.concatenate(errs)
    return float(e.mean()), float(e.std(ddof=1) / np.sqrt(len(e)))


def ols_predict(pr) -> np.ndarray:
    """Least-squares (minimum-norm when M < d) prediction x_qᵀ ŵ on each prompt."""
    w_hat = np.linalg.pinv(pr.X) @ pr.y[..., None]
    return np.einsum("bd,bd->b", pr.x_query, w_hat[..., 0])


def train_to_minimum(cov, N: int, *, sigma_factor: float, lr_factor: float, batch: int, train_gap: float,
                     average_steps: int, seed: int, progress: bool = False,
                     law: RandomDiagonalCovariance | None = None, records: int = 150):
    """Train an LSA network from the paper's initialisation for as long as the ODE needs.

    The reduced flow (eigenbasis path) fixes the training time: the time at which its loss gap falls to
    ``train_gap`` × the initial gap, converted to steps at the stable learning rate; then
    ``average_steps`` more steps over which u·U is Polyak-averaged.

    Returns
    -------
    (TrainResult, FlowResult, info dict with sigma, lr, steps, t_train)
    """
    d = law.d if law is not None else np.asarray(cov).shape[0]
    ref_cov = np.diag(law.m1) if law is not None else cov
    sigma = paper_sigma(ref_cov, N, sigma_factor)
    ode = integrate_flow(law if law is not None else cov, N, sigma, t_max=1e6, gap_tol=1e-10)
    t_train = float(ode.t[np.argmax(ode.gap <= train_gap * ode.gap[0])])
    lr = stable_lr(cov, N, lr_factor, law=law)
    steps = int(np.ceil(t_train / lr)) + average_steps
    dist = PromptDistribution(d, random_cov="exponential") if law is not None else PromptDistribution(d, cov=cov)
    net = train(lsa.paper_init(d, sigma), dist, N=N, lr=lr, steps=steps, batch=batch, seed=seed,
                record_every=max(1, steps // records), average_last=average_steps / steps, progress=progress)
    return net, ode, {"sigma": sigma, "lr": lr, "steps": steps, "t_train": t_train}


def path_disagreement(cov, N: int, sigma: float, t_end: float, n: int = 60) -> float:
    """max over a common time grid of ‖V_eigen(t) − V_dense(t)‖_F / ‖V_dense(t)‖_F (both paths, no early stop)."""
    grid = np.linspace(0.0, t_end, n)
    e = integrate_flow(cov, N, sigma, t_max=t_end, gap_tol=None, t_eval=grid)
    f = integrate_flow(cov, N, sigma, t_max=t_end, gap_tol=None, t_eval=grid, path="dense")
    return float(np.max(np.linalg.norm(e.V - f.V, axis=(1, 2)) / np.linalg.norm(f.V, axis=(1, 2))))
