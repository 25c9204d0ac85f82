"""Experiments of the induction-head result (Reddy, 2023)."""
