"""Build hook: compiles the simulated camera library ``libpvcam.so.2`` and the
native frame pump ``libpvcam_pump.so``.

Everything else about the package lives in ``setup.cfg``. Both are plain C
shared libraries (not Python extensions), so they are built by a ``build_ext``
subclass that calls :mod:`ophyd_pvcam.sim.build` and
:mod:`ophyd_pvcam.engine.stream.native.build`, each loaded from its file so that
building never imports the package itself.
"""
import importlib.util
import os
import sys

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_builder(name, *parts):
    path = os.path.join(HERE, "ophyd_pvcam", *parts, "build.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class BuildSimulator(build_ext):
    """Compile ``ophyd_pvcam/sim/src/*.c`` into ``ophyd_pvcam/sim/lib/libpvcam.so.2``
    and ``ophyd_pvcam/engine/stream/native/src/*.c`` into
    ``ophyd_pvcam/engine/stream/native/lib/libpvcam_pump.so``."""

    def run(self):
        for name, parts in (("_ophyd_pvcam_sim_build", ("sim",)),
                            ("_ophyd_pvcam_pump_build", ("engine", "stream", "native"))):
            builder = _load_builder(name, *parts)
            if self.inplace or getattr(self, "editable_mode", False):
                out_dir = os.path.join(HERE, "ophyd_pvcam", *parts, "lib")
            else:
                out_dir = os.path.join(self.build_lib, "ophyd_pvcam", *parts, "lib")
            builder.build_library(out_dir)


class BinaryDistribution(Distribution):
    """The wheel carries a compiled library, so it is platform-specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_ext": BuildSimulator}, distclass=BinaryDistribution)
