"""Spies shared by tests."""

import contextlib


def record_blas_threads(monkeypatch, module) -> list:
    """Replace ``module.blas_threads`` by a context manager that records each thread limit entered; returns
    the list it appends to."""
    seen = []

    @contextlib.contextmanager
    def record(n):
        seen.append(n)
        yield

    monkeypatch.setattr(module, "blas_threads", record)
    return seen


@contextlib.contextmanager
def swapped(frozen, **attrs):
    """Set attributes of a frozen dataclass (an experiment of the catalogue) for the ``with`` block, and put
    the originals back after it, whatever happens."""
    real = {name: getattr(frozen, name) for name in attrs}
    for name, value in attrs.items():
        object.__setattr__(frozen, name, value)
    try:
        yield frozen
    finally:
        for name, value in real.items():
            object.__setattr__(frozen, name, value)
