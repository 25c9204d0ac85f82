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
