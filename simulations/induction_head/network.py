r"""Two-layer attention-only network with an MLP classifier on the target token (spec induction_head §2).

Layer ℓ: u_i ← u_i + Σ_{j≤i} p_ij V u_j, p_ij ∝ exp((K u_j)·(Q u_i)), causal, no scaling, no layer norm.
Classifier: h ← ReLU(W h + b) three times on the target's residual stream, logits = W_r h (no bias).
Every weight acts by left multiplication (out = W @ in); in code, token rows are multiplied by Wᵀ.

Same function, less work (docs/classification.md):
* only the target's layer-2 output reaches the classifier, so layer 2 needs the target's query only;
  its scores are u1_j · (K₂ᵀ q) (no keys for the other tokens) and its output is V₂ (Σ_j p_j u1_j);
* layer 1's scores need only M₁ = Q₁ᵀK₁: s_ij = u_iᵀ M₁ u_j, one projection instead of two; the gradients
  follow from dM₁ by dQ₁ = K₁ dM₁ᵀ and dK₁ = Q₁ dM₁;
* layer 2 sees the layer-1 output u1 = u + p1 v1 only through per-sequence vectors (u1·k̃, Σ p2_j u1_j), so
  u1 is never formed, and its gradient du1_j = p2_j dc + ds2_j k̃ + [j = T] r has rank 3 per sequence,
  which gives dV₁ and dp1 from (B, T) arrays and three (W × B)(B × W) products;
* nor are the values v1_j = V₁ u_j: each use is a dot product v1_j · y = u_j · (V₁ᵀ y) or a weighted sum
  Σ_j w_j v1_j = V₁ (Σ_j w_j u_j), so V₁ acts on (B, W) arrays, never on the (B·T, W) token matrix.
"""

from __future__ import annotations

import functools

import numpy as np

PARAM_NAMES = (
    "attn1.Q",
    "attn1.K",
    "attn1.V",
    "attn2.Q",
    "attn2.K",
    "attn2.V",
    "mlp.W1",
    "mlp.b1",
    "mlp.W2",
    "mlp.b2",
    "mlp.W3",
    "mlp.b3",
    "readout.W",
)


def init_params(config, rng: np.random.Generator, dtype=np.float32) -> dict:
    """Spec §2 initialisation: Q, K, V ~ N(0, 1/D); MLP weights N(0, 2/width), biases N(0, 1/width);
    read-out N(0, 1/width). ``config`` needs ``width`` (P + D), ``D``, ``L`` and optionally ``hidden``."""
    w, D = config.width, config.D
    p = {
        f"attn{layer}.{m}": (rng.standard_normal((w, w)) / np.sqrt(D)).astype(dtype)
        for layer in (1, 2)
        for m in "QKV"
    }
    p.update(init_classifier(w, getattr(config, "hidden", w), config.L, rng, dtype))
    return p


def init_classifier(in_width: int, hidden: int, L: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    """Spec §2 classifier: MLP weights N(0, 2/fan-in), biases N(0, 1/hidden), read-out N(0, 1/hidden)."""

    def n(shape, var):
        return (rng.standard_normal(shape) * np.sqrt(var)).astype(dtype)

    return {
        "mlp.W1": n((hidden, in_width), 2.0 / in_width),
        "mlp.b1": n(hidden, 1.0 / hidden),
        "mlp.W2": n((hidden, hidden), 2.0 / hidden),
        "mlp.b2": n(hidden, 1.0 / hidden),
        "mlp.W3": n((hidden, hidden), 2.0 / hidden),
        "mlp.b3": n(hidden, 1.0 / hidden),
        "readout.W": n((L, hidden), 1.0 / hidden),
    }


def classifier_forward(params, h0):
    """Three ReLU layers and the read-out on the target's stream h0 (B, width): (logits, activations)."""
    acts = [h0]
    for i in (1, 2, 3):
        h = acts[-1] @ params[f"mlp.W{i}"].T
        h += params[f"mlp.b{i}"]
        acts.append(np.maximum(h, 0, out=h))
    return acts[-1] @ params["readout.W"].T, tuple(acts)


def classifier_backward(params, logits, labels, acts):
    """Mean cross-entropy (stable log-sum-exp), the classifier's gradients, and dℒ/dh0."""
    h0, h1, h2, h3 = acts
    B = logits.shape[0]
    rows = np.arange(B)
    g = logits - logits.max(axis=1, keepdims=True)
    z_label = g[rows, labels]
    np.exp(g, out=g)
    total = g.sum(axis=1)
    loss = float(np.mean(np.log(total) - z_label))
    g /= total[:, None]  # softmax(logits)
    g[rows, labels] -= 1
    g /= B
    gr = {"readout.W": g.T @ h3}
    dh = g @ params["readout.W"]
    for i, h_in, h_out in ((3, h2, h3), (2, h1, h2), (1, h0, h1)):
        dh *= h_out > 0
        gr[f"mlp.W{i}"] = dh.T @ h_in
        gr[f"mlp.b{i}"] = dh.sum(axis=0)
        dh = dh @ params[f"mlp.W{i}"]
    return loss, gr, dh


def softmax(s, axis=-1):
    """Numerically stable softmax along ``axis``."""
    e = s - s.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


@functools.lru_cache(maxsize=8)
def _causal_mask(T: int, dtype) -> np.ndarray:
    """(T, T) additive mask: 0 on and below the diagonal, −inf above (token i attends to j ≤ i)."""
    return np.where(np.tri(T, dtype=bool), 0, -np.inf).astype(dtype)


def _bmv(X, v):
    """(B, T, W) · (B, W) -> (B, T)."""
    return (X @ v[:, :, None])[:, :, 0]


def _bvm(w, X):
    """(B, T) · (B, T, W) -> (B, W): Σ_t w_t X_t."""
    return (w[:, None, :] @ X)[:, 0]


def _forward(params, tokens):
    u = tokens
    B, T, W = u.shape
    V1 = params["attn1.V"]
    a1 = (u.reshape(B * T, W) @ (params["attn1.Q"].T @ params["attn1.K"])).reshape(B, T, W)  # rows u_iᵀ M₁
    s1 = a1 @ u.transpose(0, 2, 1)  # s1[b, i, j] = u_iᵀ Q₁ᵀK₁ u_j = (K u_j)·(Q u_i)
    s1 += _causal_mask(T, s1.dtype)
    p1 = softmax(s1)
    uLT = _bvm(p1[:, -1], u)  # Σ_j p1_Tj u_j; the target's layer-1 output is u_T + V₁ uLT
    uT = u[:, -1] + uLT @ V1.T
    q2 = uT @ params["attn2.Q"].T
    kt = q2 @ params["attn2.K"]  # K₂ᵀ q: score_j = (K₂ u1_j)·q = u1_j · kt
    ktv = _bmv(u, kt @ V1)  # v1_j · kt = u_j · V₁ᵀkt
    s2 = _bmv(u, kt) + _bmv(p1, ktv)
    p2 = softmax(s2)
    w2 = _bvm(p2, p1)  # Σ_j p2_j p1_jk
    uw2 = _bvm(w2, u)
    c = _bvm(p2, u) + uw2 @ V1.T  # Σ_j p2_j u1_j
    logits, acts = classifier_forward(params, uT + c @ params["attn2.V"].T)
    cache = (u, uT, uLT, q2, kt, ktv, uw2, c, acts)
    return logits, p1, p2, cache


def forward(params, tokens):
    """Logits and attention maps.

    Parameters
    ----------
    params : dict of named arrays (:data:`PARAM_NAMES`)
    tokens : (B, T, P+D) array

    Returns
    -------
    logits : (B, L)
    attn1 : (B, T, T), layer-1 attention p_ij (row i attends to j ≤ i)
    attn2 : (B, T), the target's layer-2 attention (the only layer-2 row that reaches the output)
    """
    logits, p1, p2, _ = _forward(params, tokens)
    return logits, p1, p2


def loss_and_grads(params, tokens, labels):
    """Mean softmax cross-entropy of the target's logits and its gradient for every parameter.

    Returns
    -------
    (loss, grads) with grads a dict keyed like ``params``.
    """
    logits, p1, p2, cache = _forward(params, tokens)
    u, uT, uLT, q2, kt, ktv, uw2, c, acts = cache
    V1 = params["attn1.V"]
    loss, gr, dh = classifier_backward(params, logits, labels, acts)
    # layer 2 (target row): h0 = uT + V₂ c, c = Σ_j p2_j u1_j, s2_j = u1_j · kt, kt = K₂ᵀ Q₂ uT
    gr["attn2.V"] = dh.T @ c
    dc = dh @ params["attn2.V"]
    dcv = _bmv(u, dc @ V1)  # v1_j · dc
    dp2 = _bmv(u, dc) + _bmv(p1, dcv)  # u1_j · dc
    ds2 = p2 * (dp2 - (p2 * dp2).sum(axis=1, keepdims=True))
    ds2p1 = _bvm(ds2, p1)
    uds2p1 = _bvm(ds2p1, u)
    dkt = _bvm(ds2, u) + uds2p1 @ V1.T  # Σ_j ds2_j u1_j
    gr["attn2.K"] = q2.T @ dkt
    dq2 = dkt @ params["attn2.K"].T
    gr["attn2.Q"] = dq2.T @ uT
    r = dh + dq2 @ params["attn2.Q"]  # into u1_T: residual and query
    # layer 1: du1_j = p2_j dc + ds2_j kt + [j = T] r ; u1 = u + p1 v1 ; v1 = u V₁ᵀ
    gr["attn1.V"] = dc.T @ uw2 + kt.T @ uds2p1 + r.T @ uLT
    # dp1_ij = p2_i v1_j·dc + ds2_i v1_j·kt + [i = T] v1_j·r; ds1 = p1 ∘ (dp1 − Σ_j p1_ij dp1_ij)
    ds1 = p2[:, :, None] * dcv[:, None, :]
    ds1 += ds2[:, :, None] * ktv[:, None, :]
    ds1[:, -1] += _bmv(u, r @ V1)
    ds1 -= (p1 * ds1).sum(axis=2, keepdims=True)
    ds1 *= p1
    B, T, W = u.shape
    dM = u.reshape(B * T, W).T @ (ds1 @ u).reshape(B * T, W)  # s1 = u M₁ uᵀ: dM₁ = Σ_b uᵀ ds1 u
    gr["attn1.Q"] = params["attn1.K"] @ dM.T
    gr["attn1.K"] = params["attn1.Q"] @ dM
    return loss, {k: gr[k].astype(params[k].dtype, copy=False) for k in params}
