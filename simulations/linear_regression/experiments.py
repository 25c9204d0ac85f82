"""Registers the linear-regression experiments (importing the modules registers them)."""
from . import exp_flow  # noqa: F401
from . import exp_risk  # noqa: F401
