"""Sphinx configuration of the icl-dynamics documentation.

Build (no warnings allowed):  python -m sphinx -W --keep-going -b html docs docs/_build/html
Pages are MyST Markdown; the API reference is autodoc + numpydoc; docs/examples/plot_*.py are run at build
time by sphinx-gallery (each draws a figure in a few seconds).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display while the gallery examples run

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package, also when it is not installed
os.environ.setdefault("TQDM_DISABLE", "1")

project = "icl-dynamics"
author = "the icl-dynamics authors"
copyright = "the icl-dynamics authors"  # noqa: A001 (Sphinx's name)
release = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "figures/reproduce/gallery.md",  # included by gallery.md, not a page of its own
    "examples/GALLERY_HEADER.rst",  # sphinx-gallery copies it into auto_examples/index.rst
    "sg_execution_times.rst",
]

# ----------------------------------------------------------------------------- MyST
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3  # links such as induction_head.md#where-theory-and-networks-disagree

# ----------------------------------------------------------------------------- API reference
autodoc_typehints = "none"  # the numpydoc sections carry the types and shapes
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autosummary_generate = False  # the API pages list their members themselves: no generated stub files
numpydoc_show_class_members = False  # autodoc documents the members once, below each class
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

autodoc_inherit_docstrings = False  # else the stdlib's Executor.submit docstring (``fn(*args, **kwargs)``,
# not reStructuredText) is pulled into InProcessExecutor and DaskExecutor


# Docstrings write mathematics as plain text: |x| for absolute values and (*params, N, L) for unpacking,
# which reStructuredText reads as substitutions and emphasis. Rather than edit the modules, escape those two
# characters when autodoc reads a docstring (outside ``literal`` spans). This changes no words; it only lets
# the text render as written.
_LITERAL = re.compile(r"(``.*?``)")


def _escape_plain_math(line: str) -> str:
    parts = _LITERAL.split(line)
    for i in range(0, len(parts), 2):  # even parts are outside ``...``
        parts[i] = re.sub(r"(?<!\\)\|", r"\\|", parts[i]).replace("(*", "(\\*")
    return "".join(parts)


# Docstrings whose layout reStructuredText cannot read: a formula continued on an indented line that
# starts with "+" (read as a definition list holding a bullet), then a paragraph with no blank line between.
# Those formula lines are shown as a literal block: (the text their first line starts with, how many lines).
# Reported to the code owners; delete an entry once its docstring is fixed.
_FORMULA_LINES = {"theory.linear_attention.theorem42_decomposition": ("error = ", 2)}


def _formula_as_literal(lines: list[str], start: str, count: int) -> None:
    for i, line in enumerate(lines):
        if line.lstrip().startswith(start):
            block = ["    " + x for x in lines[i : i + count]]
            lines[i : i + count] = ["::", "", *block, ""]
            return


# Section titles numpydoc does not know (it drops their text): shown as a rubric instead. numpydoc also
# parses the raw docstring for signatures and warns about the title there; that warning is silenced.
warnings.filterwarnings("ignore", message="Unknown section Keys", category=UserWarning)
_UNKNOWN_SECTIONS = {"Keys"}


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = [_escape_plain_math(line) for line in lines]
    for i in range(len(lines) - 1):
        title, rule = lines[i].strip(), lines[i + 1].strip()
        if title in _UNKNOWN_SECTIONS and rule and set(rule) == {"-"}:
            lines[i], lines[i + 1] = f".. rubric:: {title}", ""
    if name in _FORMULA_LINES:
        _formula_as_literal(lines, *_FORMULA_LINES[name])


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)  # before numpydoc (500)


# ----------------------------------------------------------------------------- examples gallery
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "write_computation_times": False,
    "min_reported_time": 1,
    "show_memory": False,
    "reset_modules": (),  # the examples share simulations.plotting's style, set when it is first imported
}

# ----------------------------------------------------------------------------- HTML
html_theme = "alabaster"
html_title = "icl-dynamics"
html_theme_options = {
    "description": "Theory of in-context learning dynamics, next to the networks it explains",
    "fixed_sidebar": True,
    "page_width": "1180px",
    "sidebar_width": "240px",
}
html_static_path: list[str] = []
pygments_style = "sphinx"
