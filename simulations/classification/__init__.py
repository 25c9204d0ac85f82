"""In-context classification (Reddy, 2023): bursty data, the two-layer attention network, training."""
from .data import Batch, DataConfig, Task

__all__ = ["Batch", "DataConfig", "Task"]
