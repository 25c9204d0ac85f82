r"""Bursty in-context classification data (docs/induction_head.md §1, §3), vectorised over the batch.

A sequence is x_1, ℓ_1, …, x_N, ℓ_N, x_q (T = 2N + 1 tokens). Token t is [one-hot(offset + t) ∈ R^P ;
content ∈ R^D], content an item or a label vector. The task (class means, label vectors) is fixed by
``config.data_seed``; a batch is a function of (seed, step) through the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.validation import as_count

from ..config import config, require
from ..seeding import float_dtype, standard_normal


@config
class DataConfig:
    """The data of Reddy (2023), docs/induction_head.md §1. Defaults: the paper's headline setting.

    Attributes
    ----------
    K : int
        Number of classes (divisible by L).
    L : int
        Number of labels; class k carries label k mod L.
    N : int
        Item-label pairs in a context.
    D : int
        Content dimensions of a token.
    P : int
        Size of the one-hot position code (>= 2N + 1).
    epsilon : float
        Within-class noise ε: an item is (μ_k + εη)/√(1 + ε²).
    alpha : float
        Zipf exponent of the class frequencies, P(k) ∝ k^(−α).
    B : int
        Burstiness: copies of each class in a bursty context (divides N; 0: no bursty sequences).
    p_B : float
        Fraction of bursty training sequences.
    p_C : float
        Fraction of bursty training sequences that use novel classes.
    random_offset : bool
        Start the block of positions at a random offset per sequence (else at 0).
    bursty_sampling : str
        "zipf": bursty classes drawn from P(k) with distinct labels (the package default); "uniform":
        drawn uniformly (the original code's choice).
    data_seed : int
        Seed of the class means and label vectors.
    """

    K: int = 512
    L: int = 32
    N: int = 8
    D: int = 63
    P: int = 65
    epsilon: float = 0.1
    alpha: float = 0.0
    B: int = 2
    p_B: float = 1.0
    p_C: float = 0.0
    random_offset: bool = True
    bursty_sampling: str = "zipf"
    data_seed: int = 0

    def __post_init__(self):
        require(self.N >= 1, "N", "be >= 1")
        require(self.L >= 2, "L", "be >= 2")
        require(self.K >= 1, "K", "be >= 1")
        require(self.L <= self.K, "L", f"be <= K (= {self.K}): every label needs a class")
        require(self.K % self.L == 0, "K", f"be divisible by L (= {self.L})")
        require(self.D >= 1, "D", "be >= 1")
        require(self.P >= 2 * self.N + 1, "P", f"be >= 2N + 1 = {2 * self.N + 1} (one position per token)")
        require(self.epsilon >= 0, "epsilon", "be >= 0")
        require(self.alpha >= 0, "alpha", "be >= 0")
        require(self.B >= 0, "B", "be >= 0")
        if self.B > 0:
            require(self.N % self.B == 0, "B", f"divide N (= {self.N})")
            require(self.B < self.N or self.N == 1, "B", f"be < N (= {self.N})")
            require(self.N // self.B <= self.L, "B", f"leave N/B <= L (= {self.L}) distinct context labels")
        require(0 <= self.p_B <= 1, "p_B", "lie in [0, 1]")
        require(0 <= self.p_C <= 1, "p_C", "lie in [0, 1]")
        require(
            not (self.p_C > 0 and self.B == 0), "p_C", "be 0 when B = 0 (novel-class sequences are bursty)"
        )
        require(self.bursty_sampling in ("zipf", "uniform"), "bursty_sampling", "be 'zipf' or 'uniform'")
        require(self.data_seed >= 0, "data_seed", "be >= 0")

    @property
    def T(self) -> int:
        return 2 * self.N + 1

    @property
    def width(self) -> int:
        return self.P + self.D


@dataclass(frozen=True)
class Batch:
    """tokens (B, T, P+D); labels (B,) in [0, L); target_class (B,) (−1 for novel classes);
    context_labels (B, N); context_match (B, N) bool: context item i has the target's class."""

    tokens: np.ndarray
    labels: np.ndarray
    target_class: np.ndarray
    context_labels: np.ndarray
    context_match: np.ndarray


class Task:
    """The fixed class means μ_k, label vectors and Zipf class probabilities of one data configuration."""

    def __init__(self, cfg: DataConfig):
        if not isinstance(cfg, DataConfig):
            raise ValueError(f"cfg must be a DataConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        rng = np.random.default_rng(np.random.SeedSequence(cfg.data_seed, spawn_key=(2,)))
        self.means = rng.standard_normal((cfg.K, cfg.D)) / np.sqrt(cfg.D)
        self.label_vectors = rng.standard_normal((cfg.L, cfg.D)) / np.sqrt(cfg.D)
        w = np.arange(1, cfg.K + 1, dtype=np.float64) ** -cfg.alpha
        self.class_probs = w / w.sum()
        self.class_label = np.arange(cfg.K) % cfg.L
        self._races: dict = {}  # per class subset: (mass per label, within-label CDFs), see _race

    # ------------------------------------------------------------------ class draws
    def _bursty_classes(self, rng, n: int, classes: str | None = None) -> np.ndarray:
        """(n, N/B) classes with distinct labels, drawn without label repeats from the bursty law of the
        subset ``classes`` (:meth:`subset_probs`), in draw order.

        Sequential sampling is an exponential race (class k finishes at E_k/p_k, E_k ~ Exp(1); the draw
        order is the finishing order, skipping used labels), so it equals racing the labels: label l
        finishes at Exp(Σ_{k: ℓ(k)=l} p_k), and its winning class is drawn ∝ p_k within the label,
        independently of its time (the minimum of independent exponentials and its argmin are independent).
        The first N/B labels to finish, each with its class: L + N/B draws per sequence, no Python loop.
        """
        cfg = self.cfg
        m = cfg.N // cfg.B
        mass, cdf = self._race(classes)
        if np.count_nonzero(mass) < m:
            raise ValueError(
                f"classes: only {np.count_nonzero(mass)} labels have classes in this subset, fewer than the "
                f"N/B = {m} distinct labels a bursty context needs"
            )
        times = np.divide(
            rng.standard_exponential((n, cfg.L)), mass, out=np.full((n, cfg.L), np.inf), where=mass > 0
        )
        labels = np.argsort(times, axis=1)[:, :m]
        j = np.count_nonzero(cdf[:, labels] <= rng.random((n, m)), axis=0)  # inverse CDF within the label
        return j * cfg.L + labels

    def _race(self, classes: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Each label's probability mass and the CDF of its classes (ending at 1 exactly) under the bursty
        law of a subset: P(k) ("zipf") or uniform on the subset ("uniform"). Computed once per subset."""
        if classes not in self._races:
            p = self.subset_probs(classes)
            if self.cfg.bursty_sampling == "uniform":
                p = (p > 0) / np.count_nonzero(p)
            per_label = p.reshape(self.cfg.K // self.cfg.L, self.cfg.L)  # class k = j*L + l has label l
            mass = per_label.sum(axis=0)
            cdf = np.cumsum(per_label, axis=0)
            self._races[classes] = (mass, np.divide(cdf, cdf[-1], out=np.zeros_like(cdf), where=mass > 0))
        return self._races[classes]

    def _items(self, rng, means: np.ndarray, dtype) -> np.ndarray:
        """(μ + εη)/√(1 + ε²), η ~ N(0, I/D) fresh per item, its normals drawn in the batch's ``dtype``
        (:func:`~simulations.seeding.standard_normal`); overwrites ``means``."""
        eps = self.cfg.epsilon
        if eps > 0:
            noise = standard_normal(rng, means.shape, dtype)
            noise *= eps / np.sqrt(self.cfg.D)
            means += noise
            means /= np.sqrt(1 + eps**2)
        return means

    # ------------------------------------------------------------------ sequences
    def subset_probs(self, classes: str | None) -> np.ndarray:
        """Class probabilities restricted to a subset and renormalised: None (all classes), "common" (the
        K/4 most frequent: ranks 1..K/4) or "rare" (the K/2 least frequent: ranks K/2+1..K). Under a Zipf law
        (α > 0) these separate the classes a network can afford to learn in its weights from those it cannot
        (docs/induction_head.md §4, coexistence)."""
        if classes is None:
            return self.class_probs
        K = self.cfg.K
        keep = {"common": np.arange(K) < max(K // 4, 1), "rare": np.arange(K) >= K // 2}.get(classes)
        if keep is None:
            raise ValueError(f"classes must be None, 'common' or 'rare', got {classes!r}")
        p = np.where(keep, self.class_probs, 0.0)
        return p / p.sum()

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        kind: str = "train",
        dtype=np.float32,
        classes: str | None = None,
    ) -> Batch:
        """Draw ``n`` sequences of one kind.

        kind: "train" (the training mixture: p_B bursty, p_C of them novel), "iw" (items and target iid
        from P(k)), "ic" (bursty, novel classes), "ic2" (bursty trained classes, every label shifted by
        +1 mod L), "bursty" (bursty trained classes). ``classes`` restricts the trained classes drawn to a
        subset (:meth:`subset_probs`).
        """
        cfg = self.cfg
        N, L = cfg.N, cfg.L
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        n = as_count(n, "n")
        dtype = float_dtype(dtype)
        if kind not in ("train", "iw", "ic", "ic2", "bursty"):
            raise ValueError(f"kind must be one of train, iw, ic, ic2, bursty; got {kind!r}")
        if kind in ("ic", "ic2", "bursty") and cfg.B == 0:
            raise ValueError(f"kind {kind!r} needs bursty sequences, but B = 0")
        if kind == "train":
            bursty = rng.random(n) < (cfg.p_B if cfg.B > 0 else 0.0)
            novel = bursty & (rng.random(n) < cfg.p_C)
        else:
            bursty = np.full(n, kind != "iw")
            novel = np.full(n, kind == "ic")
        subset, classes = classes, np.empty((n, N + 1), dtype=np.int64)
        iid = np.nonzero(~bursty)[0]
        if len(iid):
            classes[iid] = rng.choice(cfg.K, size=(len(iid), N + 1), p=self.subset_probs(subset))
        b = np.nonzero(bursty)[0]
        if len(b):
            m = N // cfg.B
            chosen = self._bursty_classes(rng, len(b), subset)  # (nb, m)
            order = np.argsort(rng.random((len(b), N)), axis=1)  # shuffle B copies of each class
            slots = np.repeat(np.arange(m), cfg.B)[order]  # (nb, N) index into chosen
            tgt = rng.integers(0, m, size=len(b))
            idx = np.concatenate([slots, tgt[:, None]], axis=1)  # (nb, N+1)
            classes[b] = np.take_along_axis(chosen, idx, axis=1)
        means = self.means[classes]  # (n, N+1, D)
        labels = self.class_label[classes]
        target_class = classes[:, N].copy()
        if len(b):
            nov = np.nonzero(novel[b])[0]
            if len(nov):  # fresh means and random distinct labels for the novel sequences
                fresh = standard_normal(rng, (len(nov), m, cfg.D), dtype) / np.sqrt(cfg.D)
                fresh_labels = np.argsort(rng.random((len(nov), L)), axis=1)[:, :m]
                rows = b[nov]
                means[rows] = np.take_along_axis(fresh, idx[nov][:, :, None], axis=1)
                labels[rows] = np.take_along_axis(fresh_labels, idx[nov], axis=1)
                target_class[rows] = -1  # (their chosen classes are distinct: they still tell slots apart)
        if kind == "ic2":
            labels = (labels + 1) % L
        T = cfg.T
        offset = rng.integers(0, cfg.P - T + 1, size=n) if cfg.random_offset else np.zeros(n, dtype=int)
        tokens = np.zeros((n, T, cfg.width), dtype=dtype)
        tokens[np.arange(n)[:, None], np.arange(T)[None, :], offset[:, None] + np.arange(T)] = 1.0
        tokens[:, 1 : 2 * N : 2, cfg.P :] = self.label_vectors[labels[:, :N]]
        # the noise is the last draw: batches that differ only in ε share classes, labels and positions
        tokens[:, 0 : 2 * N + 1 : 2, cfg.P :] = self._items(rng, means, dtype)
        match = classes[:, :N] == classes[:, N : N + 1]
        return Batch(tokens, labels[:, N].astype(np.int64), target_class, labels[:, :N], match)
