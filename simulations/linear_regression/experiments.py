"""Registers the linear-regression experiments (importing the modules registers them)."""
from . import exp_symbolic  # noqa: F401  (first: the cheapest, theory only)
from . import exp_flow  # noqa: F401
from . import exp_risk  # noqa: F401
from . import exp_random_cov  # noqa: F401
