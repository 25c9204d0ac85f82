"""Theory against a trained network on any covariance: the reduced flow beside SGD on the full LSA.

:func:`flow_vs_network` is the one call: integrate the ODE from the paper's initialisation, train the
network from the same initialisation for as long as the ODE needs, Polyak-average the end, and return both
with the quantities the experiments compare (docs/linear_attention.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.linear_attention import (
    FlowResult,
    RandomDiagonalCovariance,
    integrate_flow,
    loss_gap,
    paper_sigma,
    stable_lr,
)
from theory.validation import as_count, as_covariance, as_open_unit, as_positive

from .network import paper_init
from .prompts import PromptDistribution
from .training import TrainConfig, TrainResult, train


@dataclass(frozen=True)
class FlowComparison:
    """The reduced flow and a network trained beside it.

    Attributes
    ----------
    flow : FlowResult
        The ODE from u = σ, U = σΘΘᵀ, run to loss gap 1e-10.
    network : TrainResult
        SGD on the full parameters from the same initialisation.
    minimizer : (d, d) ndarray
        Where u·U should end: Γ⁻¹, or the random-law minimiser.
    sigma, lr : float
        Initial scale and learning rate.
    t_train : float
        Gradient-flow time at which the ODE's loss gap reached ``train_gap`` × its initial value; the
        network trains for t_train / lr steps and then ``average_steps`` more, averaged.
    network_gap : (n,) ndarray or None
        Exact population loss gap of the network's u·U at each record (fixed Λ only).
    """

    flow: FlowResult
    network: TrainResult
    minimizer: np.ndarray
    sigma: float
    lr: float
    t_train: float
    network_gap: np.ndarray | None

    @property
    def endpoint_error(self) -> float:
        """‖V̄ − V*‖_F / ‖V*‖_F for the averaged network's u·U."""
        return float(np.linalg.norm(self.network.V_avg - self.minimizer) / np.linalg.norm(self.minimizer))

    @property
    def flow_gap_at_records(self) -> np.ndarray:
        """The ODE's loss gap interpolated at the network's record times."""
        return np.interp(self.network.time, self.flow.t, self.flow.gap)

    def __repr__(self) -> str:
        return (
            f"FlowComparison(d={self.minimizer.shape[0]}, sigma={self.sigma:.3g}, lr={self.lr:.3g}, "
            f"t_train={self.t_train:.3g}, endpoint_error={self.endpoint_error:.3g})"
        )


def _law_sampler(law: RandomDiagonalCovariance) -> PromptDistribution:
    m1 = float(law.m1[0])
    expo = RandomDiagonalCovariance.exponential(law.d, m1)
    if not all(
        np.allclose(getattr(law, k), getattr(expo, k), rtol=1e-12) for k in ("m1", "m2", "m3", "P", "T")
    ):
        raise ValueError(
            "cov: training on a random law is implemented for iid Exp entries "
            "(RandomDiagonalCovariance.exponential)"
        )
    return PromptDistribution(law.d, random_cov="exponential", random_scale=m1)


def flow_vs_network(
    cov,
    N,
    *,
    sigma_factor: float = 1.0,
    lr_factor: float = 1.0,
    batch: int = 512,
    train_gap: float = 1e-3,
    average_steps: int = 4000,
    min_transient_steps: int = 100,
    seed: int = 0,
    records: int = 150,
    progress: bool = False,
) -> FlowComparison:
    """Integrate the reduced flow on Λ and train an LSA network beside it.

    Parameters
    ----------
    cov : (d, d) array_like or RandomDiagonalCovariance
        Λ (any symmetric positive-definite matrix), or an Exp law of random diagonal covariances.
    N : int
        Training prompt length.
    sigma_factor : float
        σ from :func:`theory.linear_attention.paper_sigma` (σ²‖Γ‖√d = sigma_factor; < 2 for the theorem).
    lr_factor : float
        Learning rate as a fraction of :func:`theory.linear_attention.stable_lr`.
    batch : int
        Prompts per SGD step.
    train_gap : float
        The network trains for the time the ODE needs to bring its loss gap to this fraction of the
        initial gap, in (0, 1).
    average_steps : int
        Steps trained after that, over which the weights are averaged.
    min_transient_steps : int
        The learning rate is lowered, if needed, so that the network takes at least this many steps to cover
        the ODE's transient (time t_train): a trajectory comparison needs it resolved.
    seed : int
    records : int
        At least this many records in the training history, and at least 40 before the averaging window
        (so that the transient is resolved).

    Returns
    -------
    FlowComparison
    """
    N = as_count(N, "N")
    sigma_factor = as_positive(sigma_factor, "sigma_factor")
    lr_factor = as_positive(lr_factor, "lr_factor")
    train_gap = as_open_unit(train_gap, "train_gap")
    batch, average_steps, records = (
        as_count(v, k) for k, v in (("batch", batch), ("average_steps", average_steps), ("records", records))
    )
    seed = as_count(seed, "seed", 0)
    if isinstance(cov, RandomDiagonalCovariance):
        dist, ref = _law_sampler(cov), np.diag(cov.m1)
        minimizer = cov.minimizer(N)
    else:
        cov = as_covariance(cov)
        dist, ref = PromptDistribution(cov.shape[0], cov=cov), cov
        minimizer = None
    sigma = paper_sigma(ref, N, sigma_factor)
    ode = integrate_flow(cov, N, sigma, t_max=1e6, gap_tol=1e-10)
    minimizer = ode.minimizer if minimizer is None else minimizer
    t_train = float(ode.t[np.argmax(ode.gap <= train_gap * ode.gap[0])])
    min_transient_steps = as_count(min_transient_steps, "min_transient_steps")
    lr = min(stable_lr(cov, N, lr_factor), t_train / min_transient_steps)
    transient = int(np.ceil(t_train / lr))
    steps = transient + average_steps
    cfg = TrainConfig(
        N=N,
        lr=lr,
        steps=steps,
        batch=batch,
        seed=seed,
        record_every=max(1, min(steps // records, transient // 40)),
        average_last=average_steps / steps,
    )
    net = train(dist, cfg, paper_init(dist.d, sigma), progress=progress)
    net_gap = (
        None if isinstance(cov, RandomDiagonalCovariance) else np.array([loss_gap(V, cov, N) for V in net.V])
    )
    return FlowComparison(ode, net, minimizer, sigma, lr, t_train, net_gap)
