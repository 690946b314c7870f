"""Generate one reference page per public module at build time, so the reference follows the code.

Every public module of ``ophyd_pvcam`` (no path component starting with
``_``) gets a page. A module with a hand-written page,
``docs/reference/<module>.rst`` (packages, the constants, pages with extra
tables), keeps it; every other module gets a generated page,
``docs/api/generated/<layer>/<module>.rst``, with the standard content::

    ``<module>``
    ============

    .. automodule:: <module>
       :members:

    .. autodata-undocumented:: <module>

``<layer>`` is the sub-package (``engine``, ``ioc``, ...), or ``top`` for
modules directly in the package; ``reference/index.md`` lists each layer's
folder with a glob. A module of a new sub-package lands in a new folder that
no toctree lists yet, which the build reports ("document isn't included in
any toctree"): add a section to ``reference/index.md``.

Files are rewritten only when their content changes, and generated pages of
modules that no longer exist (or now have a hand-written page) are removed.
``docs/api/generated/`` is ignored by git.
"""
from __future__ import annotations

import pkgutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "ophyd_pvcam"
#: Folder of the generated pages, relative to the documentation's source folder.
GENERATED = Path("api") / "generated"
#: Folder of the hand-written pages, relative to the documentation's source folder.
HAND_WRITTEN = Path("reference")

TEMPLATE = """{title}
{underline}

.. automodule:: {module}
   :members:

.. autodata-undocumented:: {module}
"""


def public_modules() -> dict[str, bool]:
    """Return ``{dotted name: is a package}`` for every public module of the package."""
    package = __import__(PACKAGE)
    found = {PACKAGE: True}
    found.update((info.name, info.ispkg)
                 for info in pkgutil.walk_packages(package.__path__, PACKAGE + "."))
    return {name: ispkg for name, ispkg in sorted(found.items())
            if not any(part.startswith("_") for part in name.split("."))}


def layer_of(module: str, is_package: bool = False) -> str:
    """Return the folder of ``module``'s generated page: its sub-package, or ``top``.

    Parameters
    ----------
    module : str
        Dotted module name.
    is_package : bool
        A sub-package's own page goes with its modules.

    Returns
    -------
    str
    """
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (is_package and len(parts) == 2) else "top"


def page_text(module: str) -> str:
    """Return the standard page of ``module``."""
    title = f"``{module}``"
    return TEMPLATE.format(title=title, underline="=" * len(title), module=module)


def generate(srcdir: Path) -> list[Path]:
    """Write the generated pages under ``srcdir``; return the paths written or kept.

    Parameters
    ----------
    srcdir : pathlib.Path
        The documentation's source folder (``docs/``).

    Returns
    -------
    list of pathlib.Path
    """
    root = srcdir / GENERATED
    expected: dict[Path, str] = {}
    for module, is_package in public_modules().items():
        if (srcdir / HAND_WRITTEN / f"{module}.rst").exists():
            continue
        expected[root / layer_of(module, is_package) / f"{module}.rst"] = page_text(module)
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if root.exists():
        for stale in root.rglob("*.rst"):
            if stale not in expected:
                stale.unlink()
    return sorted(expected)


def _on_builder_inited(app: Sphinx) -> None:
    pages = generate(Path(app.srcdir))
    logger.info("reference: %d generated module page(s) in %s", len(pages), GENERATED)


def setup(app: Sphinx) -> dict:
    """Generate the pages when the builder starts (before the sources are read)."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
