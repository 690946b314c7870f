"""Sphinx directive ``autodata-undocumented``: the public constants autodoc leaves out.

``automodule :members:`` documents a module-level constant only when it has a
``#:`` comment or a docstring below it (``:undoc-members:`` does not change
that for module data). This directive emits ``.. autodata::`` for every name
in the module's ``__all__`` that is a plain value (not a class, function or
module) and has no such comment, so every public name appears in the
reference, with its value. Usage, after the ``automodule``::

    .. autodata-undocumented:: ophyd_pvcam.sdk.param_ids

A module without ``__all__`` produces nothing.
"""
from __future__ import annotations

import importlib
import inspect
import types

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective


def undocumented_data(modname: str) -> list[str]:
    """Return the ``__all__`` names of ``modname`` that are data without a doc comment.

    Parameters
    ----------
    modname : str
        Dotted module name.

    Returns
    -------
    list of str
        In ``__all__`` order.
    """
    module = importlib.import_module(modname)
    public = getattr(module, "__all__", None)
    if public is None:
        return []
    try:
        attr_docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
    except Exception:  # no source (e.g. compiled): nothing is documented by comment
        attr_docs = {}
    names = []
    for name in public:
        try:
            obj = getattr(module, name)
        except AttributeError:
            continue  # not defined: tests/test_docs.py reports it with the other gaps
        if isinstance(obj, (type, types.ModuleType)) or inspect.isroutine(obj):
            continue
        if ("", name) in attr_docs:
            continue
        names.append(name)
    return names


class AutodataUndocumented(SphinxDirective):
    """Emit ``autodata`` for the undocumented public constants of a module."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        try:
            names = undocumented_data(modname)
        except Exception as exc:  # an import failure must fail the build loudly
            raise self.error(f"autodata-undocumented {modname}: {exc!r}") from exc
        if not names:
            return []
        source = self.get_source_info()[0]
        lines = StringList()
        for name in names:
            lines.append(f".. autodata:: {modname}.{name}", source)
            lines.append("", source)
        container = nodes.container()
        self.state.nested_parse(lines, self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict:
    """Register the directive."""
    app.add_directive("autodata-undocumented", AutodataUndocumented)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
