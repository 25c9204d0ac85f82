"""Accuracies and progress measures of docs/induction_head.md §3 from logits and attention maps."""

from __future__ import annotations

import numpy as np

from .network import softmax


def accuracy(logits, labels) -> float:
    """Fraction of sequences whose argmax logit is the label (logits (B, L), labels (B,))."""
    if np.ndim(logits) != 2 or np.shape(labels) != (np.shape(logits)[0],):
        raise ValueError(
            f"logits and labels must have shapes (B, L) and (B,), got {np.shape(logits)} and "
            f"{np.shape(labels)}"
        )
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def _label_tokens(N: int) -> np.ndarray:
    """Positions of the context's label tokens (odd t < 2N)."""
    return np.arange(1, 2 * N, 2)


def _present(logits, context_labels) -> np.ndarray:
    """(B, L) mask of the labels that occur in each context."""
    present = np.zeros(np.shape(logits), dtype=bool)
    np.put_along_axis(present, context_labels, True, axis=1)
    return present


def progress_measures(attn1, attn2, logits, batch) -> dict[str, float]:
    r"""ILA1, TILA2, TLA2 and CLA (docs/induction_head.md §3), averaged over the batch.

    * ILA1: layer-1 attention from each label token (odd t) to the item just before it (t − 1);
    * TILA2: layer-2 attention from the target to the label tokens that follow items of its class;
    * TLA2: total layer-2 attention from the target to all label tokens;
    * CLA: softmax mass the classifier puts on labels present in the context.
    """
    lab = _label_tokens(batch.context_labels.shape[1])
    ila1 = attn1[:, lab, lab - 1].mean()
    a2_lab = attn2[:, lab]  # (B, N)
    tila2 = (a2_lab * batch.context_match).sum(axis=1).mean()
    tla2 = a2_lab.sum(axis=1).mean()
    cla = (softmax(logits) * _present(logits, batch.context_labels)).sum(axis=1).mean()
    return {"ILA1": float(ila1), "TILA2": float(tila2), "TLA2": float(tla2), "CLA": float(cla)}


def nested_logit_state(attn1, attn2, logits, batch) -> dict[str, float]:
    r"""A model's attention maps and logits read as the nested-logit theory's (β₁, α, ξ)
    (docs/induction_head.md §6), by inverting the theory's three forms, averaged over the batch:

    * s = σ(β₁) is ILA1 (layer-1 attention from each label token to its item), so β₁ = log(s / (1 − s));
    * the theory's target gives each matching label token the layer-2 logit α s and every other label token
      0, so with r the share of the label tokens' attention on the m matching ones,
      α s = log[(r / m) / ((1 − r) / (N − m))] (m = B; for B = 1: p = r = e^{αs} / (e^{αs} + N − 1));
    * the theory's logits are ξ × (attention weight) on the context labels and 0 on the absent ones, so ξ is
      the sum over the distinct context labels of (logit − mean absent logit). A bias per label is
      subtracted first: the mean, over the sequences where the label is absent, of its logit minus that
      sequence's mean absent logit (a bias that does not depend on the context, 0 in the theory's form,
      large in a random classifier); it cancels in expectation over the random context labels and would
      only add noise.

    Returns a dict with ``beta1``, ``alpha``, ``xi``, the standard error ``xi_se`` of ξ over the batch, and
    the measured ``s`` and ``r``.
    """
    N = batch.context_labels.shape[1]
    pm = progress_measures(attn1, attn2, logits, batch)
    s, r = pm["ILA1"], pm["TILA2"] / pm["TLA2"]  # r: batch means of both, i.e. Σ matching / Σ label tokens
    m = float(batch.context_match.sum(axis=1).mean())
    absent_mask = ~_present(logits, batch.context_labels)
    absent = absent_mask.sum(axis=1)
    if not 0 < s < 1 or not 0 < r < 1 or not 0 < m < N or absent.min() == 0:
        raise ValueError(
            "the nested-logit state needs 0 < ILA1 < 1, 0 < r < 1, some but not all context items matching "
            f"the target, and a label absent from every context; got ILA1 {s:.3g}, r {r:.3g}, {m:.3g} of {N} "
            f"matching, at least {absent.min()} absent labels"
        )

    def relative_to_absent(z):  # each sequence's logits minus its mean absent logit
        return z - ((z * absent_mask).sum(axis=1) / absent)[:, None]

    z = relative_to_absent(logits.astype(np.float64))
    times_absent = absent_mask.sum(axis=0)
    bias = np.divide(
        (z * absent_mask).sum(axis=0), times_absent, out=np.zeros(z.shape[1]), where=times_absent > 0
    )
    z = relative_to_absent(z - bias)  # bias: each label's logit when absent, context-free, 0 in the theory
    xi = (z * ~absent_mask).sum(axis=1)
    alpha_s = np.log(r / m) - np.log((1 - r) / (N - m))
    return {
        "beta1": float(np.log(s / (1 - s))),
        "alpha": float(alpha_s / s),
        "xi": float(xi.mean()),
        "xi_se": float(xi.std() / np.sqrt(len(xi))),
        "s": s,
        "r": r,
    }
