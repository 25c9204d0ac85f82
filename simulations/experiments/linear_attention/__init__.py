"""Experiments of the linear-attention result (Zhang, Frei & Bartlett, 2023)."""
