"""Pure mathematics of in-context learning dynamics (numpy, scipy, sympy only).

Never imports :mod:`simulations`.
"""
