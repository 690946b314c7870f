"""Sphinx configuration of the ophyd-pvcam documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (the test
suite runs exactly this, tests/test_docs.py, and fails on any warning).

Pages are Markdown (MyST); the reference pages under ``reference/`` are
reStructuredText because autodoc emits reStructuredText. The reference is
generated from the docstrings (numpydoc style) at build time.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))
sys.path.insert(0, os.path.join(HERE, "_ext"))

project = "ophyd-pvcam"
author = "ophyd-pvcam developers"
copyright = "2026, ophyd-pvcam developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "cli_help",  # docs/_ext/cli_help.py: ``ophyd-pvcam ... --help`` rendered at build time
    "undocumented_data",  # docs/_ext/undocumented_data.py: constants without a doc comment
    "ophyd_components",  # docs/_ext/ophyd_components.py: signal tables of ophyd devices
    "ioc_records",  # docs/_ext/ioc_records.py: record tables of the EPICS server
    "reference_pages",  # docs/_ext/reference_pages.py: one generated page per module
    "import_graph",  # docs/_ext/import_graph.py: the layers and a frame's path, from the imports
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext", "images/*.py"]
root_doc = "index"

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# Members are asked for on each reference page (``:members:``), so that package
# pages can show their docstring and a table without repeating every class.
autodoc_default_options = {"show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc validation stays off here; tests/test_docs.py checks the reference's coverage.

nitpicky = False
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
html_static_path = []
html_title = "ophyd-pvcam"
