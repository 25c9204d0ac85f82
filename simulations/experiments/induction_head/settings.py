"""The settings the classification experiments share (docs/induction_head.md §4, "Settings").

* quick: N = 4, L = 8, K = 128, D = 31 (width 64), B = 1, half the sequences novel (p_C = 0.5), lr 0.05,
  5000 steps: the slow phase and the jump in about 25 s a seed on one core;
* paper: the real configs' own defaults (K = 512, L = 32, N = 8, D = 63, P = 65, B = 2, lr 0.01,
  150k steps, test sets of 10,000) with p_C = 0.5 for the dynamics experiments (novel-class sequences
  force in-context learning); the data-dependence grids set p_C = 0.
"""

from __future__ import annotations

from ...config import require
from ...induction_head import DataConfig, TrainConfig

QUICK_DATA = DataConfig(K=128, L=8, N=4, D=31, P=33, B=1, p_C=0.5)
QUICK_TRAIN = TrainConfig(steps=5000, lr=0.05, eval_every=100, eval_size=1000, checkpoint_every=100000)
PAPER = {"data": DataConfig(p_C=0.5), "train": TrainConfig()}


def require_seed_zero(train: TrainConfig) -> None:
    """Experiments that loop over ``seeds`` take each run's seed from there: ``train.seed`` must stay 0."""
    require(train.seed == 0, "train.seed", "stay 0: this experiment's runs take their seeds from 'seeds'")
