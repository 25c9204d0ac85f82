"""The settings the classification experiments share (docs/induction_head.md §4, "Settings").

* quick: N = 4, L = 8, K = 128, D = 31 (width 64), B = 1, half the sequences novel (p_C = 0.5), lr 0.05,
  4000 steps: the slow phase and the jump in about 20 s a seed on one core;
* paper: the real configs' own defaults (K = 512, L = 32, N = 8, D = 63, P = 65, B = 2, lr 0.01,
  150k steps, test sets of 10,000) with p_C = 0.5 for the dynamics experiments (novel-class sequences
  force in-context learning); the data-dependence grids set p_C = 0;
* medium: the cheap setting at p_C = 0 where induction heads form without novel classes (docs §4): the quick
  sizes with K = 512 (K = 128 learns in weights instead), 10k steps (30k for the training curves: ten times
  the transition, to see whether ICL is transient), 6 seeds for the curves, 3 for the grids and the N × L
  arms (the data-dependence grid at these sizes is centred on K = 128, B = 2; the N × L arms use the quick
  data, p_C = 0.5).
"""

from __future__ import annotations

from dataclasses import replace

from ...config import require
from ...induction_head import MODELS, DataConfig, TrainConfig

QUICK_DATA = DataConfig(K=128, L=8, N=4, D=31, P=33, B=1, p_C=0.5)
QUICK_TRAIN = TrainConfig(steps=4000, lr=0.05, eval_every=100, eval_size=1000, checkpoint_every=100000)
PAPER = {"data": DataConfig(p_C=0.5), "train": TrainConfig()}
CHEAP_DATA = replace(QUICK_DATA, K=512, p_C=0.0)
MEDIUM_TRAIN = replace(QUICK_TRAIN, steps=10000, eval_every=250)
SIX_SEEDS = (0, 1, 2, 3, 4, 5)


def require_models(models) -> None:
    """A non-empty list of model names from :data:`~simulations.induction_head.MODELS`."""
    require(len(models) > 0 and set(models) <= set(MODELS), "models", f"be a non-empty list from {MODELS}")
