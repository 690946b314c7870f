"""The package's layout: no import circle, and no private name crosses a subpackage boundary.

Both tests read the source (``ast``), not the imported modules, so they see
every import statement of every module: at module level, inside functions
(lazy imports) and under ``if TYPE_CHECKING:``. A lazy import does not break
a circle, it hides it; the dependency has to point one way.

The import graph is the one docs/_ext/import_graph.py draws on the
architecture page (docs/explanation/architecture.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from import_graph import find_cycles, package_imports  # noqa: E402

PACKAGE = ROOT / "ophyd_pvcam"

#: Imports of a private name from another subpackage that are allowed for now,
#: as ``(importing module, imported module, name)``. Each entry names why;
#: remove it when the code it names is fixed. Empty: none is allowed.
PRIVATE_IMPORT_EXCEPTIONS: frozenset[tuple[str, str, str]] = frozenset()


def own_package(module: str, packages: set[str]) -> str:
    """The package a module belongs to: itself for a package, else its parent.

    The private rule is strict: ``engine.stream.native``'s private ``_abi`` is for
    ``engine.stream.native`` only, not for the rest of ``engine``.
    """
    return module if module in packages else module.rpartition(".")[0]


def is_private(name: str) -> bool:
    """``_name`` is private; ``__all__``-style dunders are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_package_has_no_import_circle():
    graph = package_imports(PACKAGE)
    assert len(graph.modules) > 100, "the walk found too few modules: is PACKAGE right?"
    cycles = find_cycles({module: {edge.target for edge in edges}
                          for module, edges in graph.edges.items()})
    assert not cycles, "import circles:\n" + "\n".join(
        " -> ".join(cycle + [cycle[0]]) for cycle in cycles)


def private_crossings(graph) -> list[str]:
    """Every import of a private module or name from outside its own package, as text."""
    packages = {module for module, path in graph.modules.items() if path.name == "__init__.py"}
    crossings = []
    for module, edges in graph.edges.items():
        for edge in edges:
            if own_package(edge.target, packages) == own_package(module, packages):
                continue
            private_module = any(is_private(part) for part in edge.target.split(".")[1:])
            private_names = [name for name in edge.names if is_private(name)]
            for name in private_names or ([edge.target] if private_module else []):
                if (module, edge.target, name) not in PRIVATE_IMPORT_EXCEPTIONS:
                    crossings.append(f"{module} (line {edge.line}) imports {name} from {edge.target}")
    return sorted(crossings)


def test_no_module_imports_a_private_name_from_another_subpackage():
    crossings = private_crossings(package_imports(PACKAGE))
    assert not crossings, "private names used across subpackages:\n" + "\n".join(crossings)


def test_the_walk_sees_lazy_and_type_checking_imports(tmp_path):
    # The two rules would pass vacuously if the walk missed the imports that
    # hide circles; a small package with both kinds proves it does not.
    package = tmp_path / "pkg"
    (package / "one").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "one" / "__init__.py").write_text("")
    (package / "one" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.one.b import B\n")
    (package / "one" / "b.py").write_text("def f():\n    from . import a\n    from pkg import two\n")
    (package / "two.py").write_text("from pkg.one.a import _hidden\n")
    graph = package_imports(package)
    edges = {module: {edge.target for edge in found} for module, found in graph.edges.items()}
    # a -(TYPE_CHECKING)-> b -(lazy)-> two -> a, and b's ``from . import a``.
    assert edges["pkg.one.b"] == {"pkg.one.a", "pkg.two"}
    assert find_cycles(edges) == [["pkg.one.a", "pkg.one.b", "pkg.two"]]
    assert [(edge.target, edge.names) for edge in graph.edges["pkg.two"]] == [
        ("pkg.one.a", ("_hidden",))]
    assert private_crossings(graph) == ["pkg.two (line 1) imports _hidden from pkg.one.a"]


def test_the_architecture_pages_frame_path_fails_when_a_step_does_not_import_the_next():
    # docs/explanation/architecture.md draws a frame's path with this check; a
    # path the code no longer has must be reported, not drawn.
    from import_graph import frame_path

    drawing, problems = frame_path(PACKAGE, ["device.writer | file", "device.assetfile | lifecycle"])
    assert problems == [] and "ophyd_pvcam.device.assetfile" in drawing
    _, problems = frame_path(PACKAGE, ["sdk.types | a", "catalog.embedded | b", "no.such | c"])
    assert problems == [
        "frame-path: no module ophyd_pvcam.no.such",
        "frame-path: ophyd_pvcam.sdk.types and ophyd_pvcam.catalog.embedded do not import "
        "one another; fix the path or mark the hop '| via ...'"]
    _, problems = frame_path(PACKAGE, ["sdk.types | a | via a callback", "catalog.embedded | b"])
    assert problems == []
