"""Checks and histories as pandas DataFrames, for those who have pandas (an optional dependency)."""

from __future__ import annotations


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError("to_dataframe needs pandas: pip install pandas") from None
    return pandas


def to_dataframe(obj):
    """A pandas DataFrame of ``obj``: a list of checks (``Check`` objects or their dicts, one row each),
    a saved run (its checks), a training result (its history, one row per evaluation), or a history dict.
    """
    pd = _pandas()
    if hasattr(obj, "history") and isinstance(obj.history, dict):
        return pd.DataFrame(obj.history)
    if hasattr(obj, "checks") and hasattr(obj, "experiment"):
        return pd.DataFrame(obj.checks)
    if isinstance(obj, dict):
        return pd.DataFrame(obj)
    if isinstance(obj, (list, tuple)):
        return pd.DataFrame([c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in obj])
    raise ValueError(
        f"to_dataframe takes checks, a saved run, a training result or a history; got {type(obj)}"
    )
