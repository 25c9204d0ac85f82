r"""One-layer linear self-attention in numpy with hand-written gradients (docs/linear_attention.md §1).

f(E; W^{PV}, W^{KQ}) = E + W^{PV} E (Eᵀ W^{KQ} E) / M on the embedding E = [[x_1 … x_M x_q], [y_1 … y_M 0]],
where M is the prompt's own number of examples; the prediction is the bottom-right entry.
Parameters are a dict ``{"W_PV": (d+1, d+1), "W_KQ": (d+1, d+1)}``. :func:`loss_and_grads` also takes
stacked runs, (R, d+1, d+1) weights with (R, B, d+1, M+1) prompts, and trains R networks in one step
(:mod:`.batched`); on one run it performs the same operations as for unstacked arrays.
"""

from __future__ import annotations

import numpy as np

from theory.linear_attention import default_theta


def embed(X, y, x_query) -> np.ndarray:
    """E of shape (B, d+1, M+1): columns are tokens (x_i; y_i), the last (x_q; 0)."""
    X = np.asarray(X)
    B, M, d = X.shape
    E = np.zeros((B, d + 1, M + 1), dtype=X.dtype)
    E[:, :d, :M] = np.swapaxes(X, 1, 2)
    E[:, d, :M] = y
    E[:, :d, M] = x_query
    return E


def forward(params, E) -> np.ndarray:
    """The full LSA output f(E) (B, d+1, M+1), exactly as docs/linear_attention.md §1 writes it."""
    M = E.shape[2] - 1
    attn = np.swapaxes(E, 1, 2) @ params["W_KQ"] @ E
    return E + params["W_PV"] @ E @ attn / M


def _gram_times(E, v, per_run: bool = False):
    """(E Eᵀ / M) v for E (…, B, d+1, M+1), without forming the (d+1)² Gram matrices.

    v is (d+1,) (one vector for every prompt), (…, B, d+1) (one per prompt) or, with ``per_run``,
    (R, d+1) (one per run of an (R, B, d+1, M+1) stack).
    """
    M = E.shape[-1] - 1
    if per_run:
        proj = (v[:, None, None, :] @ E)[..., 0, :]
    else:
        proj = v @ E if v.ndim == 1 else np.einsum("...i,...im->...m", v, E)
    return np.einsum("...im,...m->...i", E, proj) / M


def predict(params, E) -> np.ndarray:
    """ŷ = f(E)_{d+1, M+1} = rᵀ G W^{KQ} z with r the last row of W^{PV}, z = E e_{M+1}, G = EEᵀ/M.

    Equal to ``forward(params, E)[:, -1, -1]`` (E's bottom-right entry is 0) at O(B d M) cost.
    """
    Gr = _gram_times(E, params["W_PV"][-1])  # G symmetric: rᵀG = (Gr)ᵀ
    return np.einsum("bi,bi->b", Gr, E[:, :, -1] @ params["W_KQ"].T)


def loss(params, E, y_query) -> float:
    """Mean squared loss ½ mean_b (ŷ_b − y_b)² without gradients (:func:`predict`)."""
    res = predict(params, E) - y_query
    return 0.5 * float(res @ res) / len(res)


def loss_and_grads(params, E, y_query) -> tuple[float, dict]:
    r"""Mean squared loss ½ mean_b (ŷ_b − y_b)² and its exact gradients.

    ∂ŷ/∂W^{PV} = e_{d+1} (G W^{KQ} z)ᵀ,  ∂ŷ/∂W^{KQ} = (G r) zᵀ, with G = EEᵀ/M never formed
    (docs/linear_attention.md §1).

    Parameters
    ----------
    params : {"W_PV", "W_KQ"}, each (d+1, d+1), or (R, d+1, d+1) for R stacked runs
    E : (B, d+1, M+1) embedded prompts (:func:`embed`), or (R, B, d+1, M+1)
    y_query : (B,) targets, or (R, B)

    Returns
    -------
    (loss, {"W_PV": ..., "W_KQ": ...}); the loss is a float, or an (R,) array of each run's loss.
    """
    z = E[..., -1]
    W_KQ, r = params["W_KQ"], params["W_PV"][..., -1, :]
    Wz = z @ W_KQ.swapaxes(-1, -2)
    Gr = _gram_times(E, r, per_run=r.ndim > 1)
    res = np.einsum("...i,...i->...", Gr, Wz) - y_query
    rs = res / E.shape[-3]
    g_pv = np.zeros_like(params["W_PV"])
    G_Wz = _gram_times(E, Wz)
    g_pv[..., -1, :] = rs @ G_Wz if rs.ndim == 1 else (rs[..., None, :] @ G_Wz)[..., 0, :]
    g_kq = (Gr * rs[..., None]).swapaxes(-1, -2) @ z
    mse = np.mean(res * res, axis=-1)
    return (0.5 * float(mse) if mse.ndim == 0 else 0.5 * mse), {"W_PV": g_pv, "W_KQ": g_kq}


def paper_init(d: int, sigma: float, theta=None, dtype=np.float64) -> dict:
    """W^{PV}(0) = σ e eᵀ, W^{KQ}(0) = σ [[ΘΘᵀ, 0], [0, 0]] (docs/linear_attention.md §1), Θ default d^{-1/4}
    I."""
    th = default_theta(d) if theta is None else np.asarray(theta, float)
    W_PV = np.zeros((d + 1, d + 1), dtype=dtype)
    W_PV[d, d] = sigma
    W_KQ = np.zeros((d + 1, d + 1), dtype=dtype)
    W_KQ[:d, :d] = sigma * th @ th.T
    return {"W_PV": W_PV, "W_KQ": W_KQ}


def random_init(d: int, scale: float, rng: np.random.Generator, dtype=np.float64) -> dict:
    """Every entry of both matrices iid N(0, scale²/(d+1)) (a generic initialisation)."""
    s = scale / np.sqrt(d + 1)
    return {
        "W_PV": (s * rng.standard_normal((d + 1, d + 1))).astype(dtype),
        "W_KQ": (s * rng.standard_normal((d + 1, d + 1))).astype(dtype),
    }


def effective_matrix(params) -> np.ndarray:
    r"""V_eff = r_{d+1} W11^{KQ} + r_{1:d} (w21^{KQ})ᵀ, the matrix with ŷ's w-odd part = ĥᵀ V_eff x_q.

    At the paper's initialisation (r_{1:d} = 0) this is u·U, in the paper's convention ŷ = u ĥᵀ U x_q;
    :func:`theory.linear_attention.predict` and ``test_risk`` use ŷ = x_qᵀ V ĥ, so pass ``V_eff.T``.
    docs/linear_attention.md shows every global minimum of the full-parameter loss has V_eff = Γ⁻¹.
    """
    d = params["W_PV"].shape[0] - 1
    r = params["W_PV"][-1]
    return r[d] * params["W_KQ"][:d, :d] + np.outer(r[:d], params["W_KQ"][d, :d])
