r"""Two-layer attention-only network with an MLP classifier on the target token (docs/induction_head.md §2).

Layer ℓ: u_i ← u_i + Σ_{j≤i} p_ij V u_j, p_ij ∝ exp((K u_j)·(Q u_i)), causal, no scaling, no layer norm.
Classifier: h ← ReLU(W h + b) three times on the target's residual stream, logits = W_r h (no bias).
Every weight acts by left multiplication (out = W @ in); in code, token rows are multiplied by Wᵀ.

Same function, less work (docs/induction_head.md §2):
* only the target's layer-2 output reaches the classifier, so layer 2 needs the target's query only;
  its scores are u1_j · (K₂ᵀ q) (no keys for the other tokens) and its output is V₂ (Σ_j p_j u1_j);
* layer 1's scores need only M₁ = Q₁ᵀK₁: s_ij = u_iᵀ M₁ u_j, one projection instead of two; the gradients
  follow from dM₁ by dQ₁ = K₁ dM₁ᵀ and dK₁ = Q₁ dM₁;
* layer 2 sees the layer-1 output u1 = u + p1 v1 only through per-sequence vectors (u1·k̃, Σ p2_j u1_j), so
  u1 is never formed, and its gradient du1_j = p2_j dc + ds2_j k̃ + [j = T] r has rank 3 per sequence,
  which gives dV₁ and dp1 from (B, T) arrays and three (W × B)(B × W) products;
* nor are the values v1_j = V₁ u_j: each use is a dot product v1_j · y = u_j · (V₁ᵀ y) or a weighted sum
  Σ_j w_j v1_j = V₁ (Σ_j w_j u_j), so V₁ acts on (B, W) arrays, never on the (B·T, W) token matrix.

Stacked runs: every array may carry leading run axes, (R, …) weights with (R, B, T, P+D) tokens, and
the same code trains R networks in one step with stacked matmuls (:mod:`.batched`). Transposes are
therefore ``_t(X)`` (the last two axes) and reductions name negative axes; on unstacked arrays these are
the very same operations as ``X.T`` and axis 0.
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
    """Initialisation (docs/induction_head.md §2): Q, K, V ~ N(0, 1/D); MLP weights N(0, 2/width), biases
    N(0, 1/width); read-out N(0, 1/width). ``config`` needs ``width`` (P + D), ``D``, ``L`` and optionally
    ``hidden``."""
    w, D = config.width, config.D
    p = {
        f"attn{layer}.{m}": (rng.standard_normal((w, w)) / np.sqrt(D)).astype(dtype)
        for layer in (1, 2)
        for m in "QKV"
    }
    p.update(init_classifier(w, getattr(config, "hidden", w), config.L, rng, dtype))
    return p


def init_classifier(in_width: int, hidden: int, L: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    """The classifier (docs/induction_head.md §2): MLP weights N(0, 2/fan-in), biases N(0, 1/hidden), read-out
    N(0, 1/hidden)."""

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


def _t(X):
    """Transpose of the last two axes (``X.T`` for a matrix; each run's matrix for (R, m, n) stacks)."""
    return X.swapaxes(-1, -2)


def classifier_forward(params, h0):
    """Three ReLU layers and the read-out on the target's stream h0 (…, B, width): (logits, activations).

    Leading run axes of ``h0`` pair with those of the weights (stacked runs, docs/induction_head.md §2).
    """
    acts = [h0]
    for i in (1, 2, 3):
        h = acts[-1] @ _t(params[f"mlp.W{i}"])
        h += params[f"mlp.b{i}"][..., None, :]
        acts.append(np.maximum(h, 0, out=h))
    return acts[-1] @ _t(params["readout.W"]), tuple(acts)


def classifier_backward(params, logits, labels, acts):
    """Mean cross-entropy (stable log-sum-exp), the classifier's gradients, and dℒ/dh0.

    ``logits`` (…, B, L) and ``labels`` (…, B); the loss is a float, or an array of the leading run
    axes for stacked runs (each run's mean over its own batch).
    """
    h0, h1, h2, h3 = acts
    B = logits.shape[-2]
    g = logits - logits.max(axis=-1, keepdims=True)
    flat = g.reshape(-1, g.shape[-1])  # a view: g is a fresh contiguous array
    rows, cols = np.arange(flat.shape[0]), labels.reshape(-1)
    z_label = flat[rows, cols].reshape(labels.shape)
    np.exp(g, out=g)
    total = g.sum(axis=-1)
    loss = np.mean(np.log(total) - z_label, axis=-1)
    loss = float(loss) if loss.ndim == 0 else loss
    g /= total[..., None]  # softmax(logits)
    flat[rows, cols] -= 1
    g /= B
    gr = {"readout.W": _t(g) @ h3}
    dh = g @ params["readout.W"]
    for i, h_in, h_out in ((3, h2, h3), (2, h1, h2), (1, h0, h1)):
        dh *= h_out > 0
        gr[f"mlp.W{i}"] = _t(dh) @ h_in
        gr[f"mlp.b{i}"] = dh.sum(axis=-2)
        dh = dh @ params[f"mlp.W{i}"]
    return loss, gr, dh


def softmax(s):
    """Numerically stable softmax over the last axis.

    The row maxima and sums are reduced with that axis moved first (a transposing copy in and one out):
    numpy then vectorises across rows. On the (B, T, T) layer-1 scores the whole softmax is 2.3–3.4×
    faster than with reductions over a short last axis (T = 17 and 9; docs/induction_head.md §2); on
    (B, T) inputs the two are about as fast.
    """
    e = np.moveaxis(s, -1, 0).copy()
    e -= e.max(axis=0)
    np.exp(e, out=e)
    e /= e.sum(axis=0)
    return np.moveaxis(e, 0, -1).copy()


@functools.lru_cache(maxsize=8)
def _causal_mask(T: int, dtype) -> np.ndarray:
    """(T, T) additive mask: 0 on and below the diagonal, −inf above (token i attends to j ≤ i)."""
    return np.where(np.tri(T, dtype=bool), 0, -np.inf).astype(dtype)


def _bmv(X, v):
    """(…, B, T, W) · (…, B, W) -> (…, B, T)."""
    return (X @ v[..., None])[..., 0]


def _bvm(w, X):
    """(…, B, T) · (…, B, T, W) -> (…, B, W): Σ_t w_t X_t."""
    return (w[..., None, :] @ X)[..., 0, :]


def _forward(params, tokens):
    u = tokens
    *lead, B, T, W = u.shape
    V1 = params["attn1.V"]
    a1 = (u.reshape(*lead, B * T, W) @ (_t(params["attn1.Q"]) @ params["attn1.K"])).reshape(u.shape)
    s1 = a1 @ _t(u)  # s1[b, i, j] = u_iᵀ Q₁ᵀK₁ u_j = (K u_j)·(Q u_i); a1 rows u_iᵀ M₁
    s1 += _causal_mask(T, s1.dtype)
    p1 = softmax(s1)
    uLT = _bvm(p1[..., -1, :], u)  # Σ_j p1_Tj u_j; the target's layer-1 output is u_T + V₁ uLT
    uT = u[..., -1, :] + uLT @ _t(V1)
    q2 = uT @ _t(params["attn2.Q"])
    kt = q2 @ params["attn2.K"]  # K₂ᵀ q: score_j = (K₂ u1_j)·q = u1_j · kt
    ktv = _bmv(u, kt @ V1)  # v1_j · kt = u_j · V₁ᵀkt
    s2 = _bmv(u, kt) + _bmv(p1, ktv)
    p2 = softmax(s2)
    w2 = _bvm(p2, p1)  # Σ_j p2_j p1_jk
    uw2 = _bvm(w2, u)
    c = _bvm(p2, u) + uw2 @ _t(V1)  # Σ_j p2_j u1_j
    logits, acts = classifier_forward(params, uT + c @ _t(params["attn2.V"]))
    cache = (u, uT, uLT, q2, kt, ktv, uw2, c, acts)
    return logits, p1, p2, cache


def forward(params, tokens):
    """Logits and attention maps.

    Parameters
    ----------
    params : dict of named arrays (:data:`PARAM_NAMES`), each optionally with leading run axes (R, …)
    tokens : (B, T, P+D) array, or (R, B, T, P+D) for stacked runs

    Returns
    -------
    logits : (B, L)
    attn1 : (B, T, T), layer-1 attention p_ij (row i attends to j ≤ i)
    attn2 : (B, T), the target's layer-2 attention (the only layer-2 row that reaches the output)
        For stacked runs every output carries the leading run axes.
    """
    logits, p1, p2, _ = _forward(params, tokens)
    return logits, p1, p2


def loss_and_grads(params, tokens, labels):
    """Mean softmax cross-entropy of the target's logits and its gradient for every parameter.

    Parameters
    ----------
    params : dict of named arrays, each optionally with leading run axes (R, …)
    tokens : (B, T, P+D), or (R, B, T, P+D) for stacked runs
    labels : (B,) or (R, B) integers in [0, L)

    Returns
    -------
    (loss, grads) with grads a dict keyed like ``params``; loss is a float, or an (R,) array of each
    run's mean loss for stacked runs (docs/induction_head.md §2).
    """
    logits, p1, p2, cache = _forward(params, tokens)
    u, uT, uLT, q2, kt, ktv, uw2, c, acts = cache
    V1 = params["attn1.V"]
    loss, gr, dh = classifier_backward(params, logits, labels, acts)
    # layer 2 (target row): h0 = uT + V₂ c, c = Σ_j p2_j u1_j, s2_j = u1_j · kt, kt = K₂ᵀ Q₂ uT
    gr["attn2.V"] = _t(dh) @ c
    dc = dh @ params["attn2.V"]
    dcv = _bmv(u, dc @ V1)  # v1_j · dc
    dp2 = _bmv(u, dc) + _bmv(p1, dcv)  # u1_j · dc
    ds2 = p2 * (dp2 - (p2 * dp2).sum(axis=-1, keepdims=True))
    ds2p1 = _bvm(ds2, p1)
    uds2p1 = _bvm(ds2p1, u)
    dkt = _bvm(ds2, u) + uds2p1 @ _t(V1)  # Σ_j ds2_j u1_j
    gr["attn2.K"] = _t(q2) @ dkt
    dq2 = dkt @ _t(params["attn2.K"])
    gr["attn2.Q"] = _t(dq2) @ uT
    r = dh + dq2 @ params["attn2.Q"]  # into u1_T: residual and query
    # layer 1: du1_j = p2_j dc + ds2_j kt + [j = T] r ; u1 = u + p1 v1 ; v1 = u V₁ᵀ
    gr["attn1.V"] = _t(dc) @ uw2 + _t(kt) @ uds2p1 + _t(r) @ uLT
    # dp1_ij = p2_i v1_j·dc + ds2_i v1_j·kt + [i = T] v1_j·r; ds1 = p1 ∘ (dp1 − Σ_j p1_ij dp1_ij)
    ds1 = p2[..., :, None] * dcv[..., None, :]
    ds1 += ds2[..., :, None] * ktv[..., None, :]
    ds1[..., -1, :] += _bmv(u, r @ V1)
    ds1 -= (p1 * ds1) @ np.ones((ds1.shape[-1], 1), ds1.dtype)  # row sums: faster than a short-axis sum
    ds1 *= p1
    *lead, B, T, W = u.shape
    dM = _t(u.reshape(*lead, B * T, W)) @ (ds1 @ u).reshape(*lead, B * T, W)  # s1 = u M₁ uᵀ: Σ_b uᵀ ds1 u
    gr["attn1.Q"] = params["attn1.K"] @ _t(dM)
    gr["attn1.K"] = params["attn1.Q"] @ dM
    return loss, {k: gr[k].astype(params[k].dtype, copy=False) for k in params}
