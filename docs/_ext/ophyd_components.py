"""Sphinx directive ``ophyd-components``: a table of an ophyd Device's signals.

ophyd ``Component`` attributes are descriptors that autodoc does not list, yet
they are what a user reads, sets and sees in documents. This directive
renders one row per component (name, kind, signal class, its ``doc``), taken
from the class at build time::

    .. ophyd-components:: ophyd_pvcam.device.detector.PVCAMDetector
"""
from __future__ import annotations

import importlib

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

# ophyd's generated docstring of a Component without ``doc=``.
_GENERATED_DOC_PREFIX = "Component attribute"


def _import(dotted: str) -> type:
    module_name, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def _kind_name(kind: object) -> str:
    name = getattr(kind, "name", None)
    if name:
        return str(name)
    # ophyd.Kind is an IntFlag; combined values have no single name.
    from ophyd import Kind

    return "|".join(k.name for k in Kind if k.value and int(kind) & k.value) or "omitted"


def component_rows(cls: type) -> list[tuple[str, str, str, str]]:
    """Return ``(name, kind, class, doc)`` for every component of ``cls``.

    Parameters
    ----------
    cls : type
        An ``ophyd.Device`` subclass.

    Returns
    -------
    list of tuple of str
    """
    rows = []
    for name in cls.component_names:
        component = getattr(cls, name)
        doc = component.doc or ""
        if doc.startswith(_GENERATED_DOC_PREFIX):
            doc = ""
        if component.kwargs.get("read_only"):
            doc = f"{doc} (read-only)".strip()
        rows.append((name, _kind_name(component.kind), component.cls.__name__,
                     " ".join(doc.split())))
    return rows


class OphydComponents(SphinxDirective):
    """Render the component table of an ophyd Device class."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        target = self.arguments[0]
        try:
            rows = component_rows(_import(target))
        except Exception as exc:  # a broken device class must fail the build loudly
            raise self.error(f"ophyd-components {target}: {exc!r}") from exc
        source = self.get_source_info()[0]
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 22 12 18 48", "",
                 "   * - signal", "     - kind", "     - class", "     - meaning"]
        for name, kind, cls_name, doc in rows:
            lines += [f"   * - ``{name}``", f"     - {kind}", f"     - ``{cls_name}``",
                      f"     - {doc}"]
        text = StringList(lines, source)
        container = nodes.container()
        self.state.nested_parse(text, self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict:
    """Register the directive."""
    app.add_directive("ophyd-components", OphydComponents)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
