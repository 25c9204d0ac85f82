"""
Exact risk against test length, with and without shifts
========================================================

The trained linear-attention predictor x_qᵀ Γ⁻¹ ĥ_M has an exact risk at every test length M
(:func:`theory.linear_attention.test_risk`, vectorised over a stack of predictors and a list of M).
Left: the risk of the predictors trained at N = 10, 40 and 160, in distribution. Each falls like 1/M
towards a floor of order 1/N². Right: the predictor trained at N = 40 under three shifts. The task and
query shifts leave a finite floor. The covariate shift (test covariance 4Λ) does not recover as M grows.
See :doc:`../linear_attention`, §4–§5.
"""

import matplotlib.pyplot as plt
import numpy as np

from simulations.plotting import style_axes
from theory.linear_attention import geometric_spectrum, global_minimizer, test_risk

lam = geometric_spectrum(5, kappa=2.0)
Ms = np.unique(np.geomspace(1, 1000, 30).astype(int))
Ns = (10, 40, 160)
V = np.stack([global_minimizer(lam, N) for N in Ns])  # (3, d, d): one predictor per training length
risk = test_risk(V, Ms, test_cov=lam)  # (3, len(Ms))

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
for k, N in enumerate(Ns):
    left.loglog(Ms, risk[k], label=f"trained at N = {N}")
    left.axhline(test_risk(V[k], np.inf, test_cov=lam), color=f"C{k}", ls=":", lw=0.8)
left.legend(fontsize=7)
style_axes(left, "test prompt length M", "exact risk", "in distribution (dotted: M → ∞)")

shifts = {
    "none": {},
    "task: W = 2I": {"task_cov": 2 * np.eye(5)},
    "query: Q = 4Λ": {"query_cov": 4 * lam},
    "covariate: S = Q = 4Λ": {"test_cov": 4 * lam},
}
for name, shift in shifts.items():
    right.loglog(Ms, test_risk(V[1], Ms, **{"test_cov": lam, **shift}), label=name)
right.legend(fontsize=7)
style_axes(right, "test prompt length M", None, "trained at N = 40, tested under a shift")
fig.tight_layout()
