"""pytest configuration for the code on the documentation pages.

The how-to pages are doctests: ``python -m pytest docs`` runs every ``>>>`` example of ``docs/*.md`` (the
``--doctest-glob='*.md'`` option in pyproject.toml). Figures are drawn off-screen and progress bars are off.
"""

import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("TQDM_DISABLE", "1")
