r"""A small decoder-only (GPT-2-style) transformer in numpy for in-context linear regression, with a
hand-written backward pass and Adam (docs/linear_attention.md §8: the nonlinear side of Zhang, Frei &
Bartlett's comparison, after Garg et al. 2022).

Tokens (Garg et al. 2022): the prompt (x_1, y_1, …, x_M, y_M) is the sequence x_1, y_1, x_2, y_2, …, one
token each, with x-tokens [x; 0] and y-tokens [0_d; y] in R^{d+1}. The network is

    h⁰_t = W_inᵀ e_t + b_in (+ p_t, a learned position embedding, when ``positional``),
    hˡ ← hˡ + Attn(LN₁(hˡ)),   hˡ ← hˡ + MLP(LN₂(hˡ))          (ℓ = 1 … L, pre-LayerNorm blocks),
    ŷ_i = w_outᵀ LN_f(h^L_{x_i}) + b_out                           (read out at the x_i token),

with LN(h) = g ⊙ (h − mean h) / √(var h + 1e-5) + b over the width; Attn multi-head causal softmax attention,
scores (q_t · k_s)/√d_head for s ≤ t, then the output projection W_o; MLP(c) = W_prᵀ GELU(W_fcᵀ c + b_fc)
+ b_pr with hidden width 4·width and GELU(u) = ½u(1 + tanh(√(2/π)(u + 0.044715u³))) (GPT-2's tanh form).
Because attention is causal, ŷ_i sees x_1, y_1, …, y_{i−1}, x_i only: one pass over x_1, y_1, …, x_M gives the
prediction after every prefix (:func:`predict_prefixes`), and the training loss is the squared error averaged
over all prefixes i = 1 … M and the batch (:func:`loss_and_grads`). The last y-token is never read, so a
prompt of M examples is 2M − 1 tokens. Without position embeddings the model knows positions only through
the causal mask.

Parameters are a dict of arrays (one dtype, float32 or float64); with L layers, H heads, width W = H·d_head:

    W_in (d+1, W), b_in (W,), pos (2·max_examples, W) [only when positional],
    ln1_g, ln1_b, ln2_g, ln2_b, b_o, b_pr (L, W),  W_qkv (L, W, 3, H, d_head),  b_qkv (L, 3, H, d_head),
    W_o (L, H, d_head, W),  W_fc (L, W, 4W),  b_fc (L, 4W),  W_pr (L, 4W, W),
    lnf_g, lnf_b, w_out (W,),  b_out (1,).

Every array may carry a leading run axis R (R independent models: :func:`train_transformer_runs`); the
functions below accept both forms. The head count is read from the shape of ``W_qkv``.

Speed (benchmarks/bench_transformer.py). At widths 32–64 about half of a step is elementwise work (GELU and
its derivative, LayerNorm, softmax) and the rest matrix products, which run at roughly half numpy's 2048²
sgemm rate (inner dimensions of 32–256). Hence: float32 by default; every product over tokens is one
(R, B·T, ·) GEMM; the attention products are batched over (R, B, H) on strided views of the q/k/v
projections, and their outputs are written through ``out=`` views in the layout the next product reads (no
transposing copies); 1/√d_head is folded into W_q; row and column sums are products with a ones vector
and the softmax row maximum is T elementwise ``maximum`` passes (numpy's reductions over a short last axis
are 3–10× slower); the softmax backward takes Σ_s P_ts dP_ts = do_t · o_t from (B·T, W) arrays; the last
block computes queries, W_o and the MLP at the x-tokens only (the only ones read). A caller that trains for
long should call :func:`simulations.memory.keep_freed_memory` once per process: a step allocates arrays of
0.1–20 MB that glibc would otherwise hand back to the kernel and fault in again.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from ..config import config, require, require_seeds
from ..seeding import batch_rng, stream_rng
from ..threads import blas_threads
from .prompts import PromptDistribution, Prompts

LN_EPS = 1e-5
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


@config
class TransformerConfig:
    """Architecture of the GPT-2-style transformer.

    Attributes
    ----------
    d : int
        Covariate dimension (tokens live in R^{d+1}).
    width : int
        Residual-stream width (embedding dimension); a multiple of ``heads``.
    layers : int
        Number of pre-LayerNorm blocks (attention + MLP).
    heads : int
        Attention heads per block (head width = width / heads).
    positional : bool
        Learned position embeddings added after the read-in; without them the model sees positions only
        through the causal mask (and can run on prompts of any length).
    max_examples : int
        Longest prompt (examples, query included) the position table covers: 2 × max_examples positions.
        Positions never reached in training keep their initial values.
    init_std : float
        Standard deviation of the N(0, init_std²) weights (GPT-2: 0.02); residual projections (W_o, W_pr)
        are further divided by √(2 × layers). At widths ≤ 64, 0.02 leaves the model on the zero-predictor
        plateau for thousands of steps; 0.1 escapes it within a few hundred.
    dtype : 'float32' | 'float64'
        Floating type of the parameters and of all computation (float64 for gradient checks).
    """

    d: int = 5
    width: int = 64
    layers: int = 3
    heads: int = 4
    positional: bool = True
    max_examples: int = 64
    init_std: float = 0.02
    dtype: Literal["float32", "float64"] = "float32"

    def __post_init__(self):
        for name in ("d", "width", "layers", "heads", "max_examples"):
            require(getattr(self, name) >= 1, name, "be an integer >= 1")
        require(self.width % self.heads == 0, "width", "be a multiple of heads")
        require(self.init_std > 0, "init_std", "be a finite number > 0")


@config
class TransformerTrainConfig:
    """Adam on the prefix-averaged squared error, a fresh batch of prompts each step.

    Attributes
    ----------
    N : int
        Training prompt length (examples per prompt); the loss averages the N prefix predictions.
    steps : int
        Adam steps, each on a fresh batch (the batch at step k is a function of (seed, k)).
    batch : int
        Prompts per step.
    lr : float
        Adam learning rate (peak, after warm-up).
    warmup : int
        Steps of linear learning-rate warm-up from lr / warmup to lr (0: none).
    schedule : 'constant' | 'cosine'
        Learning rate after warm-up: constant, or cosine decay to 0 at the last step.
    grad_clip : float
        Rescale the gradient to this global (all-parameter) norm when it is larger; 0: no clipping.
    seed : int
        Seed of the batches, the initialisation and the evaluation set.
    eval_every : int
        Record the training and evaluation losses every this many steps.
    eval_size : int
        Prompts in the fixed evaluation set (same law and length N as training).
    blas_threads : int
        BLAS threads used while training.
    covariance : 'identity' | 'exponential'
        Covariate law of the training prompts: N(0, I), or per prompt N(0, diag(λ)) with λ_j iid Exp(1).
    """

    N: int = 20
    steps: int = 3000
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 0
    schedule: Literal["constant", "cosine"] = "constant"
    grad_clip: float = 0.0
    seed: int = 0
    eval_every: int = 100
    eval_size: int = 1024
    blas_threads: int = 1
    covariance: Literal["identity", "exponential"] = "identity"

    def __post_init__(self):
        for name in ("N", "steps", "batch", "eval_every", "eval_size", "blas_threads"):
            require(getattr(self, name) >= 1, name, "be an integer >= 1")
        require(self.seed >= 0, "seed", "be an integer >= 0")
        require(self.warmup >= 0, "warmup", "be an integer >= 0")
        require(self.lr > 0, "lr", "be a finite number > 0")
        require(self.grad_clip >= 0, "grad_clip", "be a finite number >= 0 (0: no clipping)")

    def distribution(self, d: int) -> PromptDistribution:
        """The training prompt law in dimension ``d`` (noiseless labels, w ~ N(0, I))."""
        if self.covariance == "exponential":
            return PromptDistribution(d, random_cov="exponential")
        return PromptDistribution(d)

    def lr_at(self, step: int) -> float:
        """Learning rate of the update made at ``step`` (0-based): warm-up, then the schedule."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        if self.schedule == "cosine":
            span = max(self.steps - self.warmup, 1)
            return 0.5 * self.lr * (1 + math.cos(math.pi * (step - self.warmup) / span))
        return self.lr


# --------------------------------------------------------------------------------------------------
# parameters


def init_params(config: TransformerConfig, rng: np.random.Generator) -> dict:
    """GPT-2 initialisation: every weight matrix (read-in, position table, W_qkv, W_fc, w_out) iid
    N(0, init_std²); the residual projections W_o and W_pr iid N(0, (init_std / √(2L))²) (GPT-2's scaling
    of the layers that write into the residual stream, so its variance does not grow with depth); all
    biases 0; LayerNorm gains 1 and biases 0.

    Returns
    -------
    dict of arrays in ``config.dtype`` (shapes in the module docstring), no run axis.
    """
    if not isinstance(config, TransformerConfig):
        raise ValueError(f"config must be a TransformerConfig, got {type(config).__name__}")
    c, dt = config, np.dtype(config.dtype)
    W, L, H = c.width, c.layers, c.heads
    dh = W // H
    s, s_res = c.init_std, c.init_std / math.sqrt(2 * L)

    def n(shape, std):
        return (rng.standard_normal(shape) * std).astype(dt)

    p = {"W_in": n((c.d + 1, W), s), "b_in": np.zeros(W, dt)}
    if c.positional:
        p["pos"] = n((2 * c.max_examples, W), s)
    p.update(
        ln1_g=np.ones((L, W), dt),
        ln1_b=np.zeros((L, W), dt),
        W_qkv=n((L, W, 3, H, dh), s),
        b_qkv=np.zeros((L, 3, H, dh), dt),
        W_o=n((L, H, dh, W), s_res),
        b_o=np.zeros((L, W), dt),
        ln2_g=np.ones((L, W), dt),
        ln2_b=np.zeros((L, W), dt),
        W_fc=n((L, W, 4 * W), s),
        b_fc=np.zeros((L, 4 * W), dt),
        W_pr=n((L, 4 * W, W), s_res),
        b_pr=np.zeros((L, W), dt),
        lnf_g=np.ones(W, dt),
        lnf_b=np.zeros(W, dt),
        w_out=n(W, s),
        b_out=np.zeros(1, dt),
    )
    return p


def n_params(params: dict) -> int:
    """Number of scalar parameters of one model (a leading run axis not counted)."""
    r = _runs_of(params)
    return int(sum(v.size for v in params.values()) // (r or 1))


def _runs_of(params: dict) -> int | None:
    """R when the parameters carry a leading run axis, else None."""
    nd = np.ndim(params["w_out"])
    if nd == 1:
        return None
    if nd == 2:
        return params["w_out"].shape[0]
    raise ValueError(f"w_out must have shape (W,) or (R, W), got {np.shape(params['w_out'])}")


def _with_runs(params: dict) -> tuple[dict, bool]:
    r = _runs_of(params)
    if r is None:
        return {k: v[None] for k, v in params.items()}, False
    return params, True


def _max_tokens(p: dict) -> int | None:
    return p["pos"].shape[1] if "pos" in p else None


# --------------------------------------------------------------------------------------------------
# building blocks (arrays carry a run axis R first; token rows are flattened to (R, B·T, ·))


@functools.lru_cache(maxsize=64)
def _causal_mask(T: int, dtype: np.dtype) -> np.ndarray:
    m = np.triu(np.full((T, T), -np.inf, dtype=dtype), 1)
    m.flags.writeable = False
    return m


@functools.lru_cache(maxsize=256)
def _const(shape: tuple, value: float, dtype: np.dtype) -> np.ndarray:
    """A read-only constant array (ones for row and column sums done by BLAS, which is several times faster
    than numpy's reductions over a short axis)."""
    c = np.full(shape, value, dtype=dtype)
    c.flags.writeable = False
    return c


def _row_mean(x):
    """Mean over the last axis, keepdims: (R, n, W) -> (R, n, 1)."""
    return x @ _const((x.shape[-1], 1), 1.0 / x.shape[-1], x.dtype)


def _col_sum(x):
    """Sum over the rows: (R, n, k) -> (R, k)."""
    return (_const((1, x.shape[-2]), 1.0, x.dtype) @ x)[:, 0]


def _layernorm(x, g, b):
    """LN over the last axis; x (R, n, W), g and b (R, W). Returns (y, (xhat, rstd))."""
    xc = x - _row_mean(x)
    var = np.einsum("rnw,rnw->rn", xc, xc)[..., None]
    var *= 1.0 / x.shape[-1]
    var += LN_EPS
    rstd = np.sqrt(var, out=var)
    np.reciprocal(rstd, out=rstd)
    xc *= rstd
    y = xc * g[:, None, :]
    y += b[:, None, :]
    return y, (xc, rstd)


def _layernorm_back(dy, g, cache):
    """Gradients (dx, dg, db) of :func:`_layernorm`: with x̂ = (x − μ)/σ and dx̂ = g ⊙ dy,
    dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) / σ; dy (R, n, W)."""
    xhat, rstd = cache
    dg = np.einsum("rnw,rnw->rw", dy, xhat)
    db = _col_sum(dy)
    dxh = dy * g[:, None, :]
    m2 = np.einsum("rnw,rnw->rn", dxh, xhat)[..., None]
    m2 *= 1.0 / dy.shape[-1]
    dxh -= _row_mean(dxh)
    m2 = xhat * m2
    dxh -= m2
    dxh *= rstd
    return dxh, dg, db


def _gelu(u):
    """GELU (tanh form) of u, and t = tanh(√(2/π)(u + 0.044715u³)) for the backward pass."""
    t = u * u
    t *= _GELU_A
    t += 1.0
    t *= u
    t *= _GELU_C
    np.tanh(t, out=t)
    z = t + 1.0
    z *= u
    z *= 0.5
    return z, t


def _gelu_back(dz, u, t):
    """dz · GELU'(u) = dz · [½(1 + t) + ½u(1 − t²)√(2/π)(1 + 3·0.044715u²)], computed in place in dz."""
    a = u * u
    a *= 3 * _GELU_A
    a += 1.0
    a *= u
    a *= 0.5 * _GELU_C
    s = t * t
    np.subtract(1.0, s, out=s)
    a *= s
    a += 0.5
    s = np.multiply(t, 0.5, out=s)
    a += s
    dz *= a
    return dz


def _softmax_rows(S, mask):
    """Causal softmax over the last axis, in place: S (…, T, T) scores → probabilities. Stable: each row's
    maximum (over its unmasked entries) is subtracted before exp. The maximum is taken by T elementwise
    ``maximum`` passes and the row sums by a product with ones, both several times faster than numpy's
    reductions over a short last axis."""
    T = S.shape[-1]
    S += mask
    m = S[..., 0].copy()
    for s in range(1, T):
        np.maximum(m, S[..., s], out=m)
    S -= m[..., None]
    np.exp(S, out=S)
    S /= S @ _const((T, 1), 1.0, S.dtype)
    return S


def _heads(x, j, H, dh):
    """View of part j (0: q, 1: k, 2: v) of the (R, B, T, 3W) projections as (R, B, H, T, d_head)."""
    R, B, T = x.shape[:3]
    return x.reshape(R, B, T, 3, H, dh)[:, :, :, j].transpose(0, 1, 3, 2, 4)


def _attention(a, Wqkv, bqkv, B, T, H, mask, rows):
    """Multi-head causal attention on a (R, B·T, W) with the query part of Wqkv, bqkv already divided by
    √d_head, for the query tokens ``rows`` (a slice of 0 … T−1; keys and values at every token).
    Returns o (R, B·Tq, W) (heads concatenated, before W_o) and the cache (qkv, P)."""
    R, _, W = a.shape
    dh = W // H
    qkv = a @ Wqkv
    qkv += bqkv
    qkv = qkv.reshape(R, B, T, 3 * W)
    P = _heads(qkv, 0, H, dh)[..., rows, :] @ _heads(qkv, 1, H, dh).swapaxes(-1, -2)  # (R, B, H, Tq, T)
    _softmax_rows(P, mask[rows])
    Tq = P.shape[-2]
    o = np.empty((R, B, Tq, H, dh), dtype=a.dtype)
    np.matmul(P, _heads(qkv, 2, H, dh), out=o.transpose(0, 1, 3, 2, 4))
    return o.reshape(R, B * Tq, W), (qkv, P, rows)


def _attention_back(do, o, cache, H, scale):
    """Gradient with respect to the q̃, k, v projections (R, B·T, 3W) given do (R, B·Tq, W).

    Softmax: dS = P ⊙ (dP − Σ_s P_ts dP_ts), and Σ_s P_ts dP_ts = do_t · o_t per head (o = P v), so the
    row sums come from (B·Tq, W) arrays instead of (B, H, Tq, T) ones."""
    qkv, P, rows = cache
    R, B, T, W3 = qkv.shape
    Tq = P.shape[-2]
    W = W3 // 3
    dh = W // H
    rowdot = ((do * o).reshape(R, B * Tq * H, dh) @ _const((dh, 1), 1.0, o.dtype)).reshape(R, B, Tq, H)
    do_h = do.reshape(R, B, Tq, H, dh).transpose(0, 1, 3, 2, 4)
    dqkv = (np.empty if Tq == T else np.zeros)((R, B, T, 3, H, dh), dtype=o.dtype)
    out = dqkv.transpose(0, 1, 3, 4, 2, 5)  # (R, B, 3, H, T, dh) view
    np.matmul(P.swapaxes(-1, -2), do_h, out=out[:, :, 2])
    dS = do_h @ _heads(qkv, 2, H, dh).swapaxes(-1, -2)
    dS -= rowdot.transpose(0, 1, 3, 2)[..., None]
    dS *= P
    dq = out[:, :, 0][..., rows, :]
    np.matmul(dS, _heads(qkv, 1, H, dh), out=dq)
    dq *= scale  # q̃ = q / √d_head
    np.matmul(dS.swapaxes(-1, -2), _heads(qkv, 0, H, dh)[..., rows, :], out=out[:, :, 1])
    return dqkv.reshape(R, B * T, W3)


def _tokens(X: np.ndarray, y: np.ndarray, dtype) -> np.ndarray:
    """Token sequence x_1, y_1, …, y_{M−1}, x_M of shape (R, B, 2M − 1, d + 1) from X (R, B, M, d) and the
    first M − 1 labels of y (R, B, ≥ M − 1)."""
    R, B, M, d = X.shape
    tok = np.zeros((R, B, 2 * M - 1, d + 1), dtype=dtype)
    tok[:, :, 0::2, :d] = X
    tok[:, :, 1::2, d] = y[:, :, : M - 1]
    return tok


def _forward(p: dict, tok: np.ndarray, keep: bool):
    """Forward pass on tokens (R, B, T, d+1): predictions (R, B, ⌈T/2⌉) at the x-token positions, and the
    cache of intermediate arrays when ``keep``."""
    R, B, T, _ = tok.shape
    L = p["ln1_g"].shape[1]
    H, dh = p["W_qkv"].shape[-2:]
    W = H * dh
    dt = p["w_out"].dtype
    h = tok.reshape(R, B * T, -1) @ p["W_in"]
    h += p["b_in"][:, None, :]
    if "pos" in p:
        h.reshape(R, B, T, W)[...] += p["pos"][:, None, :T, :]
    mask = _causal_mask(T, dt)
    qs = np.ones((3, 1, 1), dt)  # divide the query part of W_qkv, b_qkv by √d_head: scores q̃ · k
    qs[0] = 1.0 / math.sqrt(dh)
    caches = []
    for layer in range(L):
        a, ln1 = _layernorm(h, p["ln1_g"][:, layer], p["ln1_b"][:, layer])
        Wqkv = (p["W_qkv"][:, layer] * qs).reshape(R, W, 3 * W)
        bqkv = (p["b_qkv"][:, layer] * qs).reshape(R, 1, 3 * W)
        # only the x-tokens' outputs of the last block are read: its queries, W_o and MLP skip the y-tokens
        rows = slice(None) if layer < L - 1 else slice(0, None, 2)
        o, att = _attention(a, Wqkv, bqkv, B, T, H, mask, rows)
        if layer == L - 1:
            h = h.reshape(R, B, T, W)[:, :, rows].reshape(R, -1, W)
        h = h + o @ p["W_o"][:, layer].reshape(R, W, W)
        h += p["b_o"][:, layer][:, None, :]
        c, ln2 = _layernorm(h, p["ln2_g"][:, layer], p["ln2_b"][:, layer])
        u = c @ p["W_fc"][:, layer]
        u += p["b_fc"][:, layer][:, None, :]
        z, t = _gelu(u)
        h = h + z @ p["W_pr"][:, layer]
        h += p["b_pr"][:, layer][:, None, :]
        if keep:
            caches.append((ln1, a, att, o, ln2, c, u, t, z))
    f, lnf = _layernorm(h, p["lnf_g"], p["lnf_b"])
    pred = (f @ p["w_out"][:, :, None])[..., 0] + p["b_out"]
    pred = pred.reshape(R, B, -1)
    return pred, ((tok, caches, f, lnf) if keep else None)


_LAYER_PARAMS = (
    "ln1_g",
    "ln1_b",
    "W_qkv",
    "b_qkv",
    "W_o",
    "b_o",
    "ln2_g",
    "ln2_b",
    "W_fc",
    "b_fc",
    "W_pr",
    "b_pr",
)


def _backward(p: dict, dpred: np.ndarray, cache) -> dict:
    """Gradients of Σ dpred · pred with respect to every parameter (run axis kept)."""
    tok, caches, f, lnf = cache
    R, B, T, _ = tok.shape
    L = p["ln1_g"].shape[1]
    H, dh = p["W_qkv"].shape[-2:]
    W = H * dh
    g = {}
    dp = dpred.reshape(R, 1, -1)
    g["b_out"] = dp.sum(axis=2)
    g["w_out"] = (dp @ f)[:, 0]
    df = dp.reshape(R, -1, 1) * p["w_out"][:, None, :]
    dh_, g["lnf_g"], g["lnf_b"] = _layernorm_back(df, p["lnf_g"], lnf)  # x-tokens only
    for name in _LAYER_PARAMS:
        g[name] = np.empty_like(p[name])
    for layer in reversed(range(L)):
        ln1, a, att, o, ln2, c, u, t, z = caches[layer]
        # MLP: h += W_prᵀ z + b_pr, z = GELU(u), u = W_fcᵀ c + b_fc, c = LN₂(h)
        g["b_pr"][:, layer] = _col_sum(dh_)
        np.matmul(z.swapaxes(1, 2), dh_, out=g["W_pr"][:, layer])
        dz = dh_ @ p["W_pr"][:, layer].swapaxes(1, 2)
        du = _gelu_back(dz, u, t)
        g["b_fc"][:, layer] = _col_sum(du)
        np.matmul(c.swapaxes(1, 2), du, out=g["W_fc"][:, layer])
        dc = du @ p["W_fc"][:, layer].swapaxes(1, 2)
        dx, g["ln2_g"][:, layer], g["ln2_b"][:, layer] = _layernorm_back(dc, p["ln2_g"][:, layer], ln2)
        dh_ += dx
        # attention: h += W_oᵀ o + b_o, o = Attn(a), a = LN₁(h)
        g["b_o"][:, layer] = _col_sum(dh_)
        np.matmul(o.swapaxes(1, 2), dh_, out=g["W_o"][:, layer].reshape(R, W, W))
        do = dh_ @ p["W_o"][:, layer].reshape(R, W, W).swapaxes(1, 2)
        dqkv = _attention_back(do, o, att, H, 1.0 / math.sqrt(dh))
        g["b_qkv"][:, layer] = _col_sum(dqkv).reshape(R, 3, H, dh)
        np.matmul(a.swapaxes(1, 2), dqkv, out=g["W_qkv"][:, layer].reshape(R, W, 3 * W))
        da = dqkv @ p["W_qkv"][:, layer].reshape(R, W, 3 * W).swapaxes(1, 2)
        dx, g["ln1_g"][:, layer], g["ln1_b"][:, layer] = _layernorm_back(da, p["ln1_g"][:, layer], ln1)
        if layer == L - 1:  # the residual gradient reaches the x-tokens only; LN₁ feeds every token
            dx.reshape(R, B, T, W)[:, :, 0::2] += dh_.reshape(R, B, -1, W)
            dh_ = dx
        else:
            dh_ += dx
    if "pos" in p:
        g["pos"] = np.zeros_like(p["pos"])
        np.sum(dh_.reshape(R, B, T, W), axis=1, out=g["pos"][:, :T])
    g["b_in"] = _col_sum(dh_)
    g["W_in"] = tok.reshape(R, B * T, -1).swapaxes(1, 2) @ dh_
    return g


def _prepare(params: dict, X, y):
    """Run-axis params, X (R, B, M, d) and y (R, B, M) in the parameters' dtype, and whether the input
    parameters had a run axis. X and y without a run axis are shared by every run."""
    p, runs = _with_runs(params)
    R = p["w_out"].shape[0]
    dt = p["w_out"].dtype
    X = np.asarray(X, dtype=dt)
    y = np.asarray(y, dtype=dt)
    d = p["W_in"].shape[1] - 1
    if X.ndim == 3:
        X = np.broadcast_to(X, (R,) + X.shape)
        y = np.broadcast_to(y, (R,) + y.shape)
    if X.ndim != 4 or X.shape[0] != R or X.shape[-1] != d:
        raise ValueError(f"X must have shape (B, M, {d}) or ({R}, B, M, {d}), got {np.shape(X)}")
    if y.shape != X.shape[:3]:
        raise ValueError(f"y must have shape {X.shape[:3]} to match X, got {y.shape}")
    T = 2 * X.shape[2] - 1
    cap = _max_tokens(p)
    if cap is not None and T > cap:
        raise ValueError(
            f"a prompt of {T} tokens is longer than the position table ({cap} tokens = "
            f"{cap // 2} examples, query included): raise max_examples"
        )
    return p, X, y, runs


# --------------------------------------------------------------------------------------------------
# public functions


def predict_prefixes(params: dict, X, y, *, chunk: int | None = None) -> np.ndarray:
    """Prediction of y_i from x_1, y_1, …, y_{i−1}, x_i for every i (read-out at the x-token positions).

    Parameters
    ----------
    params : dict
        Model parameters, with or without a leading run axis R.
    X : (B, M, d) or (R, B, M, d) array_like
    y : (B, M) or (R, B, M) array_like
        Labels; y_M is not used.
    chunk : int, optional
        Prompts per forward pass; default: as many as keep each intermediate array under 2²⁴ entries.

    Returns
    -------
    (B, M) or (R, B, M) ndarray in the parameters' dtype.
    """
    p, X, y, runs = _prepare(params, X, y)
    R, B, M, _ = X.shape
    out = np.empty((R, B, M), dtype=p["w_out"].dtype)
    if M == 0:
        return out if runs else out[0]
    if chunk is None:
        T, (H, dh) = 2 * M - 1, p["W_qkv"].shape[-2:]
        chunk = max(1, 2**24 // (R * T * max(H * T, 4 * H * dh)))
    for s in range(0, B, chunk):
        out[:, s : s + chunk] = _forward(
            p, _tokens(X[:, s : s + chunk], y[:, s : s + chunk], out.dtype), False
        )[0]
    return out if runs else out[0]


def predict(params: dict, X, y, x_query, *, chunk: int | None = None) -> np.ndarray:
    """Prediction for the query x_q after the M examples (M = 0 allowed: the query token alone).

    Parameters
    ----------
    params : dict
        Model parameters, with or without a leading run axis R.
    X : (B, M, d) or (R, B, M, d) array_like
    y : (B, M) or (R, B, M) array_like
    x_query : (B, d) or (R, B, d) array_like

    Returns
    -------
    (B,) or (R, B) ndarray: the read-out at the query token of x_1, y_1, …, x_M, y_M, x_q (2M + 1 tokens).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    xq = np.asarray(x_query)
    Xa = np.concatenate([X, xq[..., None, :].astype(X.dtype)], axis=-2)
    ya = np.concatenate([y, np.zeros(y.shape[:-1] + (1,), dtype=y.dtype)], axis=-1)
    return predict_prefixes(params, Xa, ya, chunk=chunk)[..., -1]


def predictor(params: dict) -> Callable[[Prompts], np.ndarray]:
    """The trained model as a predictor ``Prompts -> (B,)`` float64, for
    :func:`~simulations.linear_attention.baselines.mc_risk` (no run axis)."""
    if _runs_of(params) is not None:
        raise ValueError("predictor needs the parameters of one model (no run axis)")

    def f(pr: Prompts) -> np.ndarray:
        return predict(params, pr.X, pr.y, pr.x_query).astype(np.float64)

    return f


def loss_and_grads(params: dict, X, y):
    """Squared error averaged over the M prefix predictions and the batch, and its exact gradients.

    ℒ = (1 / BM) Σ_b Σ_i (ŷ_{b,i} − y_{b,i})², ŷ_{b,i} the prediction of y_i after x_1, y_1, …, x_i.

    Parameters
    ----------
    params : dict
        With or without a leading run axis R (then each run's gradient is that of its own loss).
    X : (B, M, d) or (R, B, M, d) array_like
    y : (B, M) or (R, B, M) array_like

    Returns
    -------
    (loss, grads): loss a float (or an (R,) array), grads a dict shaped like ``params``.
    """
    p, X, y, runs = _prepare(params, X, y)
    R, B, M, _ = X.shape
    if M == 0:
        raise ValueError("loss_and_grads needs prompts of at least one example")
    pred, cache = _forward(p, _tokens(X, y, p["w_out"].dtype), True)
    res = pred - y
    loss = np.einsum("rbm,rbm->r", res, res) / (B * M)
    res *= 2.0 / (B * M)
    g = _backward(p, res, cache)
    if runs:
        return loss, g
    return float(loss[0]), {k: v[0] for k, v in g.items()}


def loss(params: dict, X, y):
    """The loss of :func:`loss_and_grads` without gradients (a float, or (R,) with a run axis)."""
    pred = predict_prefixes(params, X, y)
    y = np.asarray(y, dtype=pred.dtype)
    res = pred - y
    val = (res * res).mean(axis=(-1, -2))
    return float(val) if np.ndim(val) == 0 else val


# --------------------------------------------------------------------------------------------------
# Adam


@dataclass
class AdamState:
    """Adam's moment estimates (dicts shaped like the parameters) and the number of updates made."""

    m: dict
    v: dict
    step: int = 0

    @classmethod
    def zeros_like(cls, params: dict) -> AdamState:
        return cls(
            {k: np.zeros_like(a) for k, a in params.items()}, {k: np.zeros_like(a) for k, a in params.items()}
        )

    def copy(self) -> AdamState:
        return AdamState(
            {k: a.copy() for k, a in self.m.items()}, {k: a.copy() for k, a in self.v.items()}, self.step
        )


def adam_update(
    params: dict, grads: dict, state: AdamState, lr: float, *, beta1=0.9, beta2=0.999, eps=1e-8
) -> None:
    r"""One Adam step in place (Kingma & Ba 2015, Algorithm 1; the same arithmetic as ``torch.optim.Adam``).

    t ← t + 1;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
    θ ← θ − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε).
    """
    state.step += 1
    t = state.step
    c1 = 1.0 - beta1**t
    c2 = math.sqrt(1.0 - beta2**t)
    for k, gk in grads.items():
        m, v = state.m[k], state.v[k]
        m *= beta1
        m += (1.0 - beta1) * gk
        v *= beta2
        v += (1.0 - beta2) * (gk * gk)
        den = np.sqrt(v)
        den /= c2
        den += eps
        upd = m / den
        upd *= lr / c1
        params[k] -= upd


def _clip(grads: dict, max_norm: float) -> np.ndarray:
    """Global gradient norm per run (R,), and rescale each run's gradient to ``max_norm`` if larger."""
    sq = sum(
        np.einsum("ri,ri->r", gk.reshape(gk.shape[0], -1), gk.reshape(gk.shape[0], -1))
        for gk in grads.values()
    )
    norm = np.sqrt(sq.astype(np.float64))
    if max_norm > 0:
        f = np.minimum(1.0, max_norm / (norm + 1e-12))
        if np.any(f < 1):
            for gk in grads.values():
                gk *= f.reshape((-1,) + (1,) * (gk.ndim - 1)).astype(gk.dtype)
    return norm


# --------------------------------------------------------------------------------------------------
# training


@dataclass(frozen=True)
class TransformerTrainResult:
    """Outcome of :func:`train_transformer` (or :func:`train_transformer_runs`: then every array has a run
    axis R, after the record axis in ``history``).

    Attributes
    ----------
    params : dict
        Final parameters.
    history : dict of (n,) or (n, R) arrays
        At steps 0, eval_every, 2·eval_every, … and the last step, with θ the weights after ``step``
        updates: ``loss`` (ℒ(θ) on the training batch of that step), ``eval_loss`` (ℒ(θ) on the fixed
        evaluation set), ``grad_norm`` (global norm of that batch's gradient, before clipping) and ``lr``
        (the learning rate of the update made at that step).
    state : AdamState
        Adam's moments after the last step (pass ``resume=`` to continue the run exactly).
    model : TransformerConfig
    config : TransformerTrainConfig
    seeds : tuple of int
        The seed of each run (``(config.seed,)`` for :func:`train_transformer`).
    seconds : float
        Wall time of the training loop (evaluation included).
    """

    params: dict
    history: dict
    state: AdamState
    model: TransformerConfig
    config: TransformerTrainConfig
    seeds: tuple
    seconds: float

    @property
    def eval_loss(self) -> np.ndarray:
        return self.history["eval_loss"]

    def __repr__(self) -> str:
        return (
            f"TransformerTrainResult(steps={int(self.history['step'][-1])}, final eval_loss="
            f"{np.array2string(np.asarray(self.history['eval_loss'][-1]), precision=4)}, "
            f"seconds={self.seconds:.1f})"
        )


def train_transformer(
    model: TransformerConfig,
    config: TransformerTrainConfig,
    init: dict | None = None,
    *,
    resume: TransformerTrainResult | None = None,
    stop_at: int | None = None,
    progress: bool = False,
) -> TransformerTrainResult:
    """Train one transformer with Adam on fresh prompts (batch at step k from ``batch_rng(seed, k)``).

    Parameters
    ----------
    model : TransformerConfig
    config : TransformerTrainConfig
    init : dict, optional
        Initial parameters (copied); default :func:`init_params` with ``stream_rng(seed, "init")``.
    resume : TransformerTrainResult, optional
        Continue this run (its parameters, Adam state and history) from its last step. With the config it
        was started with, the result equals an uninterrupted run (same thread count); ``config.steps`` may
        also be raised to extend a finished run (the learning-rate schedule is then the new one's).
    stop_at : int, optional
        Stop after this many steps (< config.steps), e.g. to checkpoint; continue with ``resume=``.
    progress : bool
        Show a progress bar.

    Raises
    ------
    FloatingPointError
        When the loss or a parameter becomes non-finite (names the step and the parameter).
    """
    return _train_entry(model, config, [config.seed], init, resume, stop_at, progress, runs=False)


def train_transformer_runs(
    model: TransformerConfig,
    config: TransformerTrainConfig,
    seeds: Sequence[int],
    *,
    resume: TransformerTrainResult | None = None,
    stop_at: int | None = None,
    progress: bool = False,
) -> TransformerTrainResult:
    """Train R = len(seeds) independent transformers in one loop (one batched product per layer and run).

    Run r is the run of :func:`train_transformer` with ``config.seed = seeds[r]`` (its batches, its
    initialisation, its evaluation set), equal to it up to float rounding. ``config.seed`` is ignored;
    ``resume`` and ``stop_at`` as in :func:`train_transformer`.

    Returns
    -------
    TransformerTrainResult with a leading run axis R on every parameter and (n, R) history arrays.
    """
    seeds = [int(s) for s in seeds]
    require_seeds(seeds)
    return _train_entry(model, config, seeds, None, resume, stop_at, progress, runs=True)


_PER_RUN = ("loss", "eval_loss", "grad_norm")


def _train_entry(model, config, seeds, init, resume, stop_at, progress, runs):
    if not isinstance(model, TransformerConfig):
        raise ValueError(f"model must be a TransformerConfig, got {type(model).__name__}")
    if not isinstance(config, TransformerTrainConfig):
        raise ValueError(f"config must be a TransformerTrainConfig, got {type(config).__name__}")
    require(
        not model.positional or config.N <= model.max_examples,
        "N",
        f"be <= the model's max_examples ({model.max_examples})",
    )
    stop = config.steps if stop_at is None else int(stop_at)
    require(0 <= stop <= config.steps, "stop_at", "lie in 0 … steps")
    if resume is not None:
        if resume.model != model:
            raise ValueError("resume was trained with a different model config")
        if dataclasses.replace(resume.config, steps=config.steps) != config:
            raise ValueError("resume was trained with a different training config (only steps may change)")
        if tuple(resume.seeds) != tuple(seeds):
            raise ValueError(f"resume was trained with seeds {resume.seeds}, not {tuple(seeds)}")
        if resume.state.step > stop:
            raise ValueError(f"resume has made {resume.state.step} steps, more than the {stop} asked for")
        p = {k: a.copy() if runs else a[None].copy() for k, a in resume.params.items()}
        state = resume.state.copy()
        if not runs:
            state = AdamState(
                {k: a[None] for k, a in state.m.items()}, {k: a[None] for k, a in state.v.items()}, state.step
            )
        history = resume.history
        if not runs:
            history = {k: (v[:, None] if k in _PER_RUN else v) for k, v in history.items()}
    else:
        if init is None:
            inits = [init_params(model, stream_rng(s, "init")) for s in seeds]
        else:
            ref = init_params(model, np.random.default_rng(0))
            if set(init) != set(ref) or any(np.shape(init[k]) != ref[k].shape for k in ref):
                raise ValueError("init must hold the parameters of init_params(model) with the same shapes")
            inits = [init]
        dt = np.dtype(model.dtype)
        p = {k: np.stack([np.asarray(i[k], dtype=dt) for i in inits]) for k in inits[0]}
        if not all(np.all(np.isfinite(a)) for a in p.values()):
            raise ValueError("init must be finite")
        state = AdamState.zeros_like(p)
        history = None
    with blas_threads(config.blas_threads):
        res = _train(p, state, history, model, config, seeds, stop, progress)
    if runs:
        return res
    hist = {k: (v[:, 0] if k in _PER_RUN else v) for k, v in res.history.items()}
    st = AdamState(
        {k: a[0] for k, a in res.state.m.items()}, {k: a[0] for k, a in res.state.v.items()}, res.state.step
    )
    return dataclasses.replace(res, params={k: a[0] for k, a in res.params.items()}, history=hist, state=st)


def _stack_prompts(dist, rngs, batch, M):
    prs = [dist.sample(r, batch, M) for r in rngs]
    return np.stack([pr.X for pr in prs]), np.stack([pr.y for pr in prs])


def _train(p, state, history, model, cfg, seeds, stop, progress):
    t0 = time.perf_counter()
    dist = cfg.distribution(model.d)
    ev = [dist.sample(stream_rng(s, "eval"), cfg.eval_size, cfg.N) for s in seeds]
    X_ev = np.stack([e.X for e in ev])
    y_ev = np.stack([e.y for e in ev])
    rec = {k: [] for k in ("step", "loss", "eval_loss", "grad_norm", "lr")}
    if history is not None:
        keep = len(history["step"])
        last = int(history["step"][-1]) if keep else -1
        if keep and last % cfg.eval_every and last < cfg.steps:
            keep -= 1  # the end-of-run record of the shorter run, off the eval_every grid
        for k in rec:
            rec[k] = list(history[k][:keep])
    recorded = int(rec["step"][-1]) if rec["step"] else -1
    names = list(p)
    steps = range(state.step, stop + 1)
    for step in tqdm(steps, disable=not progress, desc="transformer Adam", leave=False):
        rngs = [batch_rng(s, step) for s in seeds]
        X, y = _stack_prompts(dist, rngs, cfg.batch, cfg.N)
        lval, g = loss_and_grads(p, X, y)
        bad = ~np.isfinite(lval)
        if np.any(bad):
            raise FloatingPointError(
                f"transformer training diverged at step {step}: loss = {lval[bad][0]} (run "
                f"{int(np.argmax(bad))}; lr = {cfg.lr} may be too large)"
            )
        norm = _clip(g, cfg.grad_clip)
        if (step % cfg.eval_every == 0 or step == stop) and step > recorded:
            rec["step"].append(step)
            rec["loss"].append(lval.astype(np.float64))
            rec["eval_loss"].append(np.asarray(loss(p, X_ev, y_ev), dtype=np.float64))
            rec["grad_norm"].append(norm)
            rec["lr"].append(cfg.lr_at(step))
        if step == stop:
            break
        adam_update(p, g, state, cfg.lr_at(step))
        for k in names:
            if not np.all(np.isfinite(p[k])):
                raise FloatingPointError(
                    f"transformer training diverged at step {step}: parameter {k} is non-finite"
                )
    history = {k: np.array(v) for k, v in rec.items()}
    seconds = time.perf_counter() - t0
    return TransformerTrainResult(p, history, state, model, cfg, tuple(seeds), seconds)
