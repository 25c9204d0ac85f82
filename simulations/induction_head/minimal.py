r"""Minimal induction-head model (docs/induction_head.md §5, *package formulation*; docs/induction_head.md).

On the content part c_t ∈ R^D of the tokens (positions are implied by the layout x₁ ℓ₁ … x_N ℓ_N x_q):
* layer 1: each label token mixes in its preceding item, ℓ_j ← ℓ_j + s x_j with s = σ(β₁);
* layer 2: the target attends over all tokens with logits α s (x_q·x_j) + β₂ on label token j and 0 on
  the items and itself; h = x_q + Σ_t p_t c1_t (identity values, residual);
* the classifier of the full network (three ReLU layers, read-out) reads h.
Scalars ``ih.beta1``, ``ih.alpha``, ``ih.beta2`` (shape ()), and the MLP weights named as in the network.
Stacked runs: parameters with a leading run axis (scalars (R,), weights (R, …)) and tokens (R, B, T, P+D)
train R models in one step (:mod:`.batched`); the arithmetic per run is the single run's.
"""

from __future__ import annotations

import numpy as np

from .network import classifier_backward, classifier_forward, init_classifier, softmax


def _per_run(x, k: int):
    """A scalar parameter (shape () or (R,)) shaped to broadcast against k trailing axes (() unchanged)."""
    return x if np.ndim(x) == 0 else np.reshape(x, np.shape(x) + (1,) * k)


class MinimalInductionHead:
    """The minimal model for tokens whose first ``P`` features are positions (ignored)."""

    def __init__(self, P: int):
        self.P = int(P)

    def init_params(self, config, rng: np.random.Generator, dtype=np.float32) -> dict:
        """β₁ = α = β₂ = 0; MLP initialised as in the network, with input width D."""
        p = {
            "ih.beta1": np.zeros((), dtype),
            "ih.alpha": np.zeros((), dtype),
            "ih.beta2": np.zeros((), dtype),
        }
        p.update(init_classifier(config.D, getattr(config, "hidden", config.width), config.L, rng, dtype))
        return p

    def _forward(self, params, tokens):
        c = tokens[..., self.P :]
        T = c.shape[-2]
        N = (T - 1) // 2
        s = 1.0 / (1.0 + np.exp(-params["ih.beta1"]))  # () or (R,)
        items, labels, xq = c[..., 0 : 2 * N : 2, :], c[..., 1 : 2 * N : 2, :], c[..., -1, :]
        m = np.einsum("...nd,...d->...n", items, xq)  # overlap of x_q with the item copied into label j
        logits2 = np.zeros(c.shape[:-1], dtype=c.dtype)
        a, b2 = _per_run(params["ih.alpha"], 2), _per_run(params["ih.beta2"], 2)
        logits2[..., 1 : 2 * N : 2] = a * _per_run(s, 2) * m + b2
        p = softmax(logits2)
        c1 = c.copy()
        c1[..., 1 : 2 * N : 2, :] = labels + _per_run(s, 3) * items
        logits, acts = classifier_forward(params, xq + np.einsum("...t,...td->...d", p, c1))
        return logits, (c, c1, items, m, s, p, acts)

    def attention_maps(self, params, B: int, T: int, p2, dtype):
        """Layer-1 map (label rows: 1 − s on themselves, s on their item; other rows: themselves) and p2."""
        s = 1.0 / (1.0 + np.exp(-float(params["ih.beta1"])))
        A1 = np.eye(T, dtype=dtype)
        lab = np.arange(1, T - 1, 2)
        A1[lab, lab], A1[lab, lab - 1] = 1 - s, s
        return np.broadcast_to(A1, (B, T, T)), p2

    def forward(self, params, tokens):
        """(logits (B, L), layer-1 map (B, T, T), target's layer-2 row (B, T)), as the network's forward."""
        logits, cache = self._forward(params, tokens)
        a1, a2 = self.attention_maps(params, tokens.shape[0], tokens.shape[1], cache[5], tokens.dtype)
        return logits, a1, a2

    def loss_and_grads(self, params, tokens, labels):
        """Mean cross-entropy and hand-written gradients for every parameter.

        tokens (B, T, P+D) and labels (B,), or (R, B, T, P+D) and (R, B) with stacked parameters: then
        the loss is an (R,) array and every gradient has the run axis (docs/induction_head.md §5).
        """
        logits, (c, c1, items, m, s, p, acts) = self._forward(params, tokens)
        N = (c.shape[-2] - 1) // 2
        loss, gr, dh = classifier_backward(params, logits, labels, acts)
        dp = np.einsum("...d,...td->...t", dh, c1)
        dlog = p * (dp - (p * dp).sum(axis=-1, keepdims=True))
        dlab = dlog[..., 1 : 2 * N : 2]
        alpha = _per_run(params["ih.alpha"], 2)
        seq = (-2, -1)  # sum over sequences and label tokens
        gr["ih.alpha"] = np.sum(dlab * _per_run(s, 2) * m, axis=seq)
        gr["ih.beta2"] = np.sum(dlab, axis=seq)
        dhi = np.einsum("...d,...nd->...n", dh, items)
        ds = np.sum(dlab * alpha * m, axis=seq) + np.sum(p[..., 1 : 2 * N : 2] * dhi, axis=seq)
        gr["ih.beta1"] = ds * s * (1 - s)
        return loss, {k: np.asarray(gr[k], dtype=params[k].dtype) for k in params}
