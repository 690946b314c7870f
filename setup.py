"""Build hook: compiles the simulated camera library ``libpvcam.so.2``.

Everything else about the package lives in ``setup.cfg``. The simulator is a
plain C shared library (not a Python extension), so it is built by a
``build_ext`` subclass that calls :mod:`ophyd_pvcam.sim.build`, loaded from its
file so that building never imports the package itself.
"""
import importlib.util
import os
import sys

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_sim_builder():
    path = os.path.join(HERE, "ophyd_pvcam", "sim", "build.py")
    spec = importlib.util.spec_from_file_location("_ophyd_pvcam_sim_build", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class BuildSimulator(build_ext):
    """Compile ``ophyd_pvcam/sim/src/*.c`` into ``ophyd_pvcam/sim/lib/libpvcam.so.2``."""

    def run(self):
        builder = _load_sim_builder()
        if self.inplace or getattr(self, "editable_mode", False):
            out_dir = os.path.join(HERE, "ophyd_pvcam", "sim", "lib")
        else:
            out_dir = os.path.join(self.build_lib, "ophyd_pvcam", "sim", "lib")
        builder.build_library(out_dir)


class BinaryDistribution(Distribution):
    """The wheel carries a compiled library, so it is platform-specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_ext": BuildSimulator}, distclass=BinaryDistribution)
