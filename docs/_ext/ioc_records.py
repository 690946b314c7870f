"""Sphinx directive ``ioc-records``: the record names of a caproto record group.

The EPICS server's record groups (``cam1:``, ``HDF1:``, ``image1:``) are
caproto ``PVGroup`` classes; this directive lists their records from the class
at build time, so the tables never drift from the server::

    .. ioc-records:: ophyd_pvcam.ioc.server.cam.CamGroup

A setpoint ``X`` and its read-back ``X_RBV`` share one row. For a group built
by a factory function, give the function and its arguments::

    .. ioc-records:: ophyd_pvcam.ioc.server.image.image_group_class(256)
"""
from __future__ import annotations

import ast
import importlib
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_CALL = re.compile(r"^(?P<target>[\w.]+)\((?P<args>.*)\)$")


def _resolve(spec: str) -> type:
    """Import ``pkg.mod.Class`` or call ``pkg.mod.factory(literal, ...)``."""
    match = _CALL.match(spec.strip())
    target = match.group("target") if match else spec.strip()
    module_name, _, name = target.rpartition(".")
    obj = getattr(importlib.import_module(module_name), name)
    if match:
        args = ast.literal_eval(f"({match.group('args')},)") if match.group("args") else ()
        obj = obj(*args)
    return obj


def _type_name(spec: object) -> str:
    dtype = getattr(spec, "dtype", None)
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    return {"ENUM": "menu", "STRING": "string", "CHAR": "string", "int": "integer",
            "float": "float", "str": "string", "bool": "integer"}.get(name, name.lower())


def record_rows(group: type) -> list[tuple[str, str, str, str]]:
    """Return ``(names, type, access, notes)`` rows for the records of ``group``.

    Parameters
    ----------
    group : type
        A ``caproto.server.PVGroup`` subclass (its ``_pvs_`` mapping).

    Returns
    -------
    list of tuple of str
    """
    specs = {prop.pvspec.name: prop.pvspec for prop in group._pvs_.values()}
    rows = []
    for name, spec in specs.items():
        if name.endswith("_RBV") and name[:-4] in specs:
            continue  # shown with its setpoint
        has_rbv = f"{name}_RBV" in specs
        read_only = bool(spec.read_only) or (name.endswith("_RBV") and spec.put is None)
        names = f"``{name}`` / ``{name}_RBV``" if has_rbv else f"``{name}``"
        notes = []
        kwargs = spec.cls_kwargs or {}
        if kwargs.get("units"):
            notes.append(f"[{kwargs['units']}]")
        menu = kwargs.get("enum_strings")
        if menu and len(menu) > 1:
            notes.append("menu: " + ", ".join(str(item) for item in menu))
        if spec.doc:
            notes.append(" ".join(str(spec.doc).split()))
        rows.append((names, _type_name(spec), "read" if read_only else "read/write",
                     "; ".join(notes)))
    return rows


class IocRecords(SphinxDirective):
    """Render the records of a caproto PVGroup as a table."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self) -> list[nodes.Node]:
        spec = self.arguments[0]
        try:
            rows = record_rows(_resolve(spec))
        except Exception as exc:  # a broken record group must fail the build loudly
            raise self.error(f"ioc-records {spec}: {exc!r}") from exc
        source = self.get_source_info()[0]
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 34 10 12 44", "",
                 "   * - record", "     - type", "     - access", "     - notes"]
        for names, type_name, access, notes in rows:
            lines += [f"   * - {names}", f"     - {type_name}", f"     - {access}",
                      f"     - {notes}"]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source), self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict:
    """Register the directive."""
    app.add_directive("ioc-records", IocRecords)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
