"""The documentation builds without a warning, and its reference covers every public name.

The site (docs/) is built once per test session, exactly as documented
(``sphinx-build -W --keep-going -b html docs <out>``), in a subprocess so the
build sees a fresh interpreter. The reference check reads the ``objects.inv``
inventory of that build and walks the package: every public module (no path
component starting with ``_``) must be documented, and so must every name in
its ``__all__`` -- under that module, or where the object is defined (a
re-exported class is documented once, where it lives).
"""
from __future__ import annotations

import importlib
import pkgutil
import posixpath
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import ophyd_pvcam

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytestmark = pytest.mark.slow  # one full Sphinx build, ~30-60 s on 2 cores


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """Build the HTML site into a temporary directory; return the process and the output dir."""
    out = tmp_path_factory.mktemp("docs-html")
    process = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    return process, out


def test_docs_build_with_no_warning(build: tuple[subprocess.CompletedProcess, Path]) -> None:
    process, _ = build
    output = process.stdout + process.stderr
    problems = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    if process.returncode != 0 and not problems:
        problems = [f"sphinx-build exited {process.returncode}:"] + output.splitlines()[-30:]
    assert not problems, "the documentation build is not clean:\n" + "\n".join(problems)


def public_modules() -> dict[str, types.ModuleType]:
    """Import every public module of the package (no path component starting with ``_``)."""
    names = ["ophyd_pvcam"] + [info.name for info in pkgutil.walk_packages(
        ophyd_pvcam.__path__, "ophyd_pvcam.", onerror=_raise_import_error)]
    public = [name for name in names if not any(part.startswith("_") for part in name.split("."))]
    return {name: importlib.import_module(name) for name in public}


def _raise_import_error(name: str) -> None:
    raise ImportError(f"cannot import {name} while walking the package")


def documented_objects(inventory_path: Path) -> dict[str, set[str]]:
    """Return ``{role: {full name, ...}}`` for the Python objects of a Sphinx inventory."""
    from sphinx.util.inventory import InventoryFile

    with open(inventory_path, "rb") as stream:
        inventory = InventoryFile.load(stream, "", posixpath.join)
    entries = getattr(inventory, "data", inventory)  # a plain dict in Sphinx <= 9
    return {role: set(objects) for role, objects in entries.items() if role.startswith("py:")}


def documented_names(module_name: str, name: str, obj: Any,
                     modules: dict[str, types.ModuleType]) -> set[str]:
    """Every full name under which ``module_name.name`` may legitimately be documented."""
    candidates = {f"{module_name}.{name}"}
    if isinstance(obj, types.ModuleType):
        candidates.add(obj.__name__)
    qualname, defined_in = getattr(obj, "__qualname__", None), getattr(obj, "__module__", None)
    if isinstance(qualname, str) and isinstance(defined_in, str):
        candidates.add(f"{defined_in}.{qualname}")
    for other_name, other in modules.items():
        # The same object under another public module (a re-exported constant).
        if name in vars(other) and vars(other)[name] is obj:
            candidates.add(f"{other_name}.{name}")
    return candidates


def test_reference_documents_every_public_module_and_every_name_in_all(
        build: tuple[subprocess.CompletedProcess, Path]) -> None:
    _, out = build
    inventory = out / "objects.inv"
    assert inventory.is_file(), "the build wrote no objects.inv (see the build test's output)"
    objects = documented_objects(inventory)
    documented = set().union(*objects.values())
    modules = public_modules()
    missing = []
    for module_name, module in sorted(modules.items()):
        if module_name not in objects.get("py:module", set()):
            missing.append(f"{module_name} (module without a reference page: docs/_ext/reference_pages.py)")
        for name in getattr(module, "__all__", None) or ():
            try:
                obj = getattr(module, name)
            except AttributeError:
                missing.append(f"{module_name}.{name} (in __all__ but not defined)")
                continue
            if not documented_names(module_name, name, obj, modules) & documented:
                missing.append(f"{module_name}.{name}")
    assert not missing, (f"{len(missing)} public name(s) missing from the reference:\n"
                         + "\n".join(missing))
