"""Tests of ophyd_pvcam/cli/simenv.py: exports that make a vendor-SDK program load the simulator."""
import subprocess
import sys

from ophyd_pvcam import sim
from ophyd_pvcam.cli import main


def test_sim_env_prints_exports_pointing_at_the_simulator(capsys):
    assert main(["sim", "env", "--cameras", "kinetix", "--faults", "drop_every=7"]) == 0
    out = capsys.readouterr().out
    assert f"export LD_LIBRARY_PATH={sim.library_dir()}" in out
    assert "export PVCAM_SIM_CAMERAS=kinetix" in out
    assert "export PVCAM_SIM_FAULTS=drop_every=7" in out


def test_pyvcam_loads_the_simulator_through_the_printed_exports(tmp_path):
    script = (
        f'eval "$({sys.executable} -m ophyd_pvcam.cli sim env --cameras prime-bsi-express)" && '
        f'{sys.executable} -c "from pyvcam import pvc; from pyvcam.camera import Camera; '
        f'pvc.init_pvcam(); print(next(Camera.detect_camera()).name); pvc.uninit_pvcam()"'
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pvcamUSB_0"


def test_sim_env_prepends_to_the_evaluating_shells_library_path(tmp_path):
    # The command runs without LD_LIBRARY_PATH; the shell that evaluates its output has one.
    script = ('export LD_LIBRARY_PATH=/opt/vendor/lib:/usr/local/lib && '
              f'eval "$(env -u LD_LIBRARY_PATH {sys.executable} -m ophyd_pvcam.cli sim env)" && '
              'printf "%s" "$LD_LIBRARY_PATH"')
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{sim.library_dir()}:/opt/vendor/lib:/usr/local/lib"


def test_sim_env_with_no_library_path_exports_just_the_simulators_folder(tmp_path):
    script = (f'unset LD_LIBRARY_PATH; eval "$({sys.executable} -m ophyd_pvcam.cli sim env)" && '
              'printf "%s" "$LD_LIBRARY_PATH"')
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == str(sim.library_dir())
