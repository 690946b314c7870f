"""ophyd_pvcam/_cbuild.py: the compile step both C builders share (loaded by path, never imported)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ophyd_pvcam.engine.stream.native import build as pump_build
from ophyd_pvcam.sim import build as sim_build

cbuild = sys.modules["_ophyd_pvcam_cbuild"]   # loaded by path by the builders above

EXPORT = '__attribute__((visibility("default"))) int {name}(void) {{ return {value}; }}\n'


class Refused(RuntimeError):
    """The error a test hands to compile_library."""


def test_both_builders_load_the_one_compile_step_from_its_file():
    assert cbuild.__file__.endswith("ophyd_pvcam/_cbuild.py")
    assert sim_build._cbuild is pump_build._cbuild is cbuild
    assert "ophyd_pvcam._cbuild" not in sys.modules              # never imported as a module of the package


def test_every_c_file_of_the_folder_is_compiled_into_the_library(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "one.c").write_text(EXPORT.format(name="one", value=1))
    (src / "two.c").write_text(EXPORT.format(name="two", value=2))   # a file added later
    (src / "notes.h").write_text("#error headers are not compiled on their own\n")
    lib = cbuild.compile_library(src, tmp_path / "lib" / "libtwo.so", what="a test library",
                                 error=Refused, extra_cflags=("-Werror",))
    assert lib == tmp_path / "lib" / "libtwo.so"
    exported = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True,
                              capture_output=True, text=True).stdout.split()
    assert {"one", "two"} <= set(exported)
    dynamic = subprocess.run(["readelf", "-d", str(lib)], check=True, capture_output=True,
                             text=True).stdout
    assert "[libtwo.so]" in dynamic                                     # soname: the file's name
    assert sorted(p.name for p in lib.parent.iterdir()) == ["libtwo.so"]  # no temporary left


def test_a_failed_build_names_the_library_and_leaves_nothing_behind(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.c").write_text("int broken(void) { return missing; }\n")
    with pytest.raises(Refused, match="compiling a test library failed"):
        cbuild.compile_library(src, tmp_path / "out" / "libbroken.so", what="a test library",
                               error=Refused)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_folder_without_c_sources_is_refused(tmp_path):
    with pytest.raises(Refused, match="no C sources"):
        cbuild.compile_library(tmp_path, tmp_path / "libnone.so", what="a test library",
                               error=Refused)
