"""The package's import graph, read from its source; and a directive that draws it.

:func:`package_imports` parses every module of a package with :mod:`ast` and
records every import of another module of the same package: at module level,
inside functions and under ``if TYPE_CHECKING:`` (a lazy import hides a
circle, it does not break one). tests/test_architecture.py checks that graph
(no circle, no private name across subpackages); the ``import-graph``
directive draws it on the architecture page (docs/explanation/architecture.md),
so the picture is the code's, and cannot go stale::

    ```{import-graph}
    ```

renders the subpackages from the bottom layer up, each with the subpackages it
imports, as a text diagram. The ``frame-path`` directive draws a path through
modules, one ``module | what happens there`` per line, and checks it against
the graph: each module must exist and import, or be imported by, the next
(directly or through its package's ``__init__``), unless the line ends with
``| via <what carries it>`` (a hop outside the package, e.g. the RunEngine).
A path that no longer matches the code fails the documentation build.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    """One import statement of a module of the package."""

    target: str
    """The imported module (a module of the package, dotted)."""
    names: tuple[str, ...]
    """Names imported from it (``from target import a, b``); empty for ``import target``."""
    line: int
    """Line of the import statement."""


@dataclass
class ImportGraph:
    """Modules of a package and the imports between them."""

    modules: dict[str, Path] = field(default_factory=dict)
    edges: dict[str, list[Edge]] = field(default_factory=dict)


def package_imports(package_dir: Path) -> ImportGraph:
    """Return the import graph of the package in ``package_dir`` (every import statement).

    ``from pkg.sub import name`` counts as an import of ``pkg.sub.name`` when
    that is a module (``from . import x``), otherwise of ``pkg.sub``.
    """
    package_dir = Path(package_dir)
    top = package_dir.name
    graph = ImportGraph()
    packages = set()
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            packages.add(".".join(parts))
        graph.modules[".".join(parts)] = path
    for module, path in graph.modules.items():
        edges: list[Edge] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges += [Edge(alias.name, (), node.lineno) for alias in node.names
                          if alias.name in graph.modules]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, module in packages, node.level, node.module)
                if base is None or not (base == top or base.startswith(top + ".")):
                    continue
                names = []
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in graph.modules:
                        edges.append(Edge(submodule, (), node.lineno))
                    else:
                        names.append(alias.name)
                if names and base in graph.modules:
                    edges.append(Edge(base, tuple(names), node.lineno))
        graph.edges[module] = [edge for edge in edges if edge.target != module]
    return graph


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    if level == 0:
        return name
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the import circles of ``graph``: each strongly connected set of modules, sorted.

    Tarjan's algorithm, iterative (no recursion limit on deep chains).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return sorted(cycles)


def room(module: str) -> str:
    """The top-level room of a module: ``ophyd_pvcam.engine.camera.camera`` -> ``engine``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_diagram(package_dir: Path) -> str:
    """Return a text diagram of the rooms (subpackages, top modules), lowest layer first.

    Each line is one room, the rooms it imports, and its modules' count; a
    room is placed above every room it imports (its layer is one more than
    its highest import), so the picture reads bottom-up like the code.
    """
    graph = package_imports(package_dir)
    uses: dict[str, set[str]] = {}
    size: dict[str, int] = {}
    for module, edges in graph.edges.items():
        if module == package_dir.name:
            continue  # the package's own __init__ re-exports; not a layer
        source = room(module)
        size[source] = size.get(source, 0) + 1
        uses.setdefault(source, set()).update(
            room(edge.target) for edge in edges
            if edge.target != package_dir.name and room(edge.target) != source)
    layer: dict[str, int] = {}

    def depth(name: str, seen: tuple[str, ...] = ()) -> int:
        if name not in layer:
            below = [depth(other, seen + (name,)) for other in uses.get(name, ()) if other not in seen]
            layer[name] = 1 + max(below, default=-1)
        return layer[name]

    for name in uses:
        depth(name)
    width = max(len(name) for name in uses)
    lines = []
    for level in range(max(layer.values()), -1, -1):
        names = sorted(name for name in uses if layer[name] == level)
        lines.append(f"layer {level}")
        for name in names:
            imports = ", ".join(sorted(uses[name])) or "(nothing of the package)"
            modules = f"{size[name]} module{'s' if size[name] > 1 else ''}"
            lines.append(f"  {name:<{width}}  {modules:>11}  imports {imports}")
    return "\n".join(lines)


def linked(graph: ImportGraph, first: str, second: str) -> bool:
    """Return whether ``first`` and ``second`` import one another, directly or through a package."""
    def imports(source: str, target: str) -> bool:
        targets = {edge.target for edge in graph.edges.get(source, ())}
        parent = target.rpartition(".")[0]
        return target in targets or (parent in targets and target in {
            edge.target for edge in graph.edges.get(parent, ())})
    return imports(first, second) or imports(second, first)


def frame_path(package_dir: Path, lines: list[str]) -> tuple[str, list[str]]:
    """Return the drawing of a ``frame-path`` and the problems found checking it against the code.

    Parameters
    ----------
    package_dir : pathlib.Path
    lines : list of str
        ``module | what happens [| via what]``, modules relative to the package.
    """
    graph = package_imports(package_dir)
    top = package_dir.name
    steps = []
    for line in lines:
        if line.strip():
            parts = [part.strip() for part in line.split("|")]
            steps.append((f"{top}.{parts[0]}", parts[1] if len(parts) > 1 else "",
                          parts[2] if len(parts) > 2 else ""))
    problems = [f"frame-path: no module {module}" for module, _, _ in steps
                if module not in graph.modules]
    width = max(len(module) for module, _, _ in steps)
    drawing = []
    for number, (module, what, via) in enumerate(steps):
        drawing.append(f"{module:<{width}}  {what}")
        if number + 1 < len(steps):
            following = steps[number + 1][0]
            if via:
                drawing.append(f"  |  ({via})")
            else:
                drawing.append("  |")
                if module in graph.modules and following in graph.modules and not linked(
                        graph, module, following):
                    problems.append(f"frame-path: {module} and {following} do not import "
                                    "one another; fix the path or mark the hop '| via ...'")
            drawing.append("  v")
    return "\n".join(drawing), problems


def setup(app):  # pragma: no cover - run by Sphinx
    from docutils import nodes
    from sphinx.util import logging
    from sphinx.util.docutils import SphinxDirective

    logger = logging.getLogger(__name__)

    class FramePathDirective(SphinxDirective):
        """``frame-path``: a path of modules, checked against the imports at build time."""

        has_content = True

        def run(self):
            package = Path(self.env.srcdir).parent / "ophyd_pvcam"
            text, problems = frame_path(package, list(self.content))
            for problem in problems:
                logger.warning(problem, location=self.get_location())
            return [nodes.literal_block(text, text)]

    app.add_directive("frame-path", FramePathDirective)

    class ImportGraphDirective(SphinxDirective):
        """``import-graph``: the package's layers, drawn from its imports at build time."""

        has_content = False

        def run(self):
            package = Path(self.env.srcdir).parent / "ophyd_pvcam"
            for path in package.rglob("*.py"):
                self.env.note_dependency(str(path))
            text = layer_diagram(package)
            return [nodes.literal_block(text, text)]

    app.add_directive("import-graph", ImportGraphDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
