"""Central differences of a ``loss_and_grads``-style function, for every entry of every parameter."""

import numpy as np


def central_differences(loss_fn, params, h=1e-6):
    """{name: array} of (ℒ(θ + h e) − ℒ(θ − h e)) / 2h; ``loss_fn(params) -> float``."""
    out = {}
    for name, value in params.items():
        num = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            for sgn in (1, -1):
                p = dict(params)
                p[name] = value.copy()
                p[name][idx] += sgn * h
                num[idx] += sgn * loss_fn(p) / (2 * h)
        out[name] = num
    return out
