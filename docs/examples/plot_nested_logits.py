"""
Three nested logits: plateau, cliff and curriculum
==================================================

Gradient flow on the nested-logit loss of the induction head
(:func:`theory.induction_head.integrate_nested_logits`), at N = 8 context labels and L = 32 labels,
from the origin. Left: the parameters and the right-label probability at depth 3. ξ moves first, then
α, then β₁, and the probability jumps after a long plateau. Right: the right-label probability at each
nesting depth, and at depth 3 with β₁ frozen at 0. Depth 1 (ξ alone) has no plateau, so the plateau
comes from nesting α inside ξ. Learning β₁ shortens it. See :doc:`../induction_head`, §6.
"""

import matplotlib.pyplot as plt

from simulations.plotting import plot_nested_logits, style_axes
from theory.induction_head import integrate_nested_logits

N, L = 8, 32
runs = {
    "depth 1 (ξ)": integrate_nested_logits(N, L, 0.0, depth=1),
    "depth 2 (α, ξ)": integrate_nested_logits(N, L, 0.0, depth=2),
    "depth 3 (β₁, α, ξ)": integrate_nested_logits(N, L, 0.0, depth=3),
    "depth 3, β₁ frozen at 0": integrate_nested_logits(N, L, 0.0, depth=3, frozen=("beta1",)),
}

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
plot_nested_logits(runs["depth 3 (β₁, α, ξ)"], left)
for name, traj in runs.items():
    right.plot(traj.t, traj.p_right, label=f"{name}: t½ = {traj.t_transition:.1f}")
right.axhline(0.5, color="gray", ls=":", lw=0.8)
right.legend(fontsize=7)
style_axes(right, "gradient-flow time", "P(right label)", f"N = {N}, L = {L}")
fig.tight_layout()
