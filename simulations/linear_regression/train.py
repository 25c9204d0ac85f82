"""Train the numpy LSA network by SGD on freshly sampled prompts (time = learning rate × steps)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .lsa import effective_matrix, embed, loss_and_grads
from .prompts import PromptDistribution
from ..seeding import batch_rng, stream_rng


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    params : dict, final iterate.
    params_avg : dict, Polyak–Ruppert average of the weights over the last ``average_last`` fraction of
        steps: the trained network the experiments evaluate (its zero-mean SGD fluctuations cancel).
    time : (n,) lr × step at each record;  eval_loss : (n,) loss on the fixed evaluation set;
    V : (n, d, d) effective matrix u·U (:func:`effective_matrix`) at each record;
    V_avg : (d, d) effective matrix of ``params_avg``.
    """

    params: dict
    params_avg: dict
    time: np.ndarray
    eval_loss: np.ndarray
    V: np.ndarray
    V_avg: np.ndarray


def train(params: dict, dist: PromptDistribution, *, N: int, lr: float, steps: int, batch: int,
          seed: int, record_every: int = 10, eval_size: int = 4096, average_last: float = 0.25,
          progress: bool = False) -> TrainResult:
    """SGD on ½(ŷ − y_q)² with a fresh batch each step; the batch at step k is a function of (seed, k).

    Parameters
    ----------
    params : dict
        Initial ``W_PV``, ``W_KQ`` (copied, not modified).
    dist : PromptDistribution
        Training prompt law.
    N : int
        Training prompt length.
    lr, steps, batch, seed : learning rate, number of SGD steps, prompts per step, seed.
    record_every : int
        Record time, evaluation loss and V every this many steps.
    eval_size : int
        Size of the fixed evaluation set (drawn from its own stream of ``seed``).
    average_last : float in (0, 1]
        Fraction of final steps over which V is averaged.

    Raises
    ------
    FloatingPointError
        When the loss or a weight becomes non-finite (names the step and parameter).
    """
    p = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    ev = dist.sample(stream_rng(seed, "eval"), eval_size, N)
    E_ev = embed(ev.X, ev.y, ev.x_query)
    start_avg = int(round(steps * (1 - average_last)))
    p_sum = {k: np.zeros_like(v) for k, v in p.items()}
    times, losses, Vs = [], [], []

    def record(step):
        loss, _ = loss_and_grads(p, E_ev, ev.y_query)
        times.append(lr * step)
        losses.append(loss)
        Vs.append(effective_matrix(p))

    for step in tqdm(range(steps), disable=not progress, desc="LSA SGD", leave=False):
        if step % record_every == 0:
            record(step)
        pr = dist.sample(batch_rng(seed, step), batch, N)
        loss, grads = loss_and_grads(p, embed(pr.X, pr.y, pr.x_query), pr.y_query)
        if not np.isfinite(loss):
            raise FloatingPointError(f"LSA training diverged at step {step}: loss = {loss} "
                                     f"(lr = {lr} may be too large)")
        for k in p:
            p[k] -= lr * grads[k]
            if not np.all(np.isfinite(p[k])):
                raise FloatingPointError(f"LSA training diverged at step {step}: parameter {k} is non-finite")
        if step >= start_avg:
            for k in p:
                p_sum[k] += p[k]
    record(steps)
    p_avg = {k: v / max(steps - start_avg, 1) for k, v in p_sum.items()} if steps > start_avg else dict(p)
    return TrainResult(p, p_avg, np.array(times), np.array(losses), np.array(Vs), effective_matrix(p_avg))
