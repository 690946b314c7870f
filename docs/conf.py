"""Sphinx configuration of the ophyd-pvcam documentation (built with -W in the test suite)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "ophyd-pvcam"
author = "ophyd-pvcam developers"
copyright = "2026, ophyd-pvcam developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc validation stays off here; tests/test_docs.py checks the reference's coverage.

# Types named in docstrings that live in packages without our inventory.
nitpicky = False
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
html_static_path = []
