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


def progress_measures(attn1, attn2, logits, batch) -> dict[str, float]:
    r"""ILA1, TILA2, TLA2 and CLA (docs/induction_head.md §3), averaged over the batch.

    * ILA1: layer-1 attention from each label token (odd t) to the item just before it (t − 1);
    * TILA2: layer-2 attention from the target to the label tokens that follow items of its class;
    * TLA2: total layer-2 attention from the target to all label tokens;
    * CLA: softmax mass the classifier puts on labels present in the context.
    """
    N = batch.context_labels.shape[1]
    lab = np.arange(1, 2 * N, 2)
    ila1 = attn1[:, lab, lab - 1].mean()
    a2_lab = attn2[:, lab]  # (B, N)
    tila2 = (a2_lab * batch.context_match).sum(axis=1).mean()
    tla2 = a2_lab.sum(axis=1).mean()
    probs = softmax(logits)
    present = np.zeros_like(probs, dtype=bool)
    np.put_along_axis(present, batch.context_labels, True, axis=1)
    cla = (probs * present).sum(axis=1).mean()
    return {"ILA1": float(ila1), "TILA2": float(tila2), "TLA2": float(tla2), "CLA": float(cla)}
