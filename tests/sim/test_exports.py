"""The export table of libpvcam.so.2: names, symbol versions, soname (reference section 1)."""
from __future__ import annotations

import re
import subprocess

import pytest

from ophyd_pvcam import sim

CORE_2_2 = """
pl_cam_close pl_cam_deregister_callback pl_cam_get_name pl_cam_get_total pl_cam_open
pl_cam_register_callback pl_cam_register_callback_ex pl_cam_register_callback_ex2
pl_cam_register_callback_ex3 pl_create_frame_info_struct pl_create_smart_stream_struct
pl_enum_str_length pl_error_code pl_error_message pl_exp_abort pl_exp_check_cont_status
pl_exp_check_cont_status_ex pl_exp_check_status pl_exp_finish_seq pl_exp_get_latest_frame
pl_exp_get_latest_frame_ex pl_exp_get_oldest_frame pl_exp_get_oldest_frame_ex pl_exp_setup_cont
pl_exp_setup_seq pl_exp_start_cont pl_exp_start_seq pl_exp_stop_cont pl_exp_unlock_oldest_frame
pl_get_enum_param pl_get_param pl_internal_bridge_command pl_internal_cam_write_read_passthrough
pl_io_clear_script_control pl_io_script_control pl_md_create_frame_struct
pl_md_create_frame_struct_cont pl_md_frame_decode pl_md_frame_recompose pl_md_read_extended
pl_md_release_frame_struct pl_pp_reset pl_pvcam_get_ver pl_pvcam_init pl_pvcam_uninit
pl_release_frame_info_struct pl_release_smart_stream_struct pl_set_param pvcam_event_create
pvcam_event_destroy pvcam_event_name pvcam_event_reset pvcam_event_set pvcam_event_wait_single
""".split()


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    """symbol name -> default version, from nm."""
    out = _run("nm", "-D", "--defined-only", str(sim.library_path()))
    table = {}
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ T (\w+)@@(\S+)$", line)
        if m:
            table[m.group(1)] = m.group(2)
    return table


def test_every_vendor_function_is_exported_with_its_version(exported):
    expected = {name: "PVCAM_CORE_2.2" for name in CORE_2_2}
    expected["pl_exp_trigger"] = "PVCAM_CORE_2.5"
    expected["pl_internal_cam_diag_command"] = "PVCAM_CORE_2.6"
    vendor = {k: v for k, v in exported.items() if not k.startswith("pvcam_sim_")}
    assert vendor == expected


def test_simulator_extras_live_in_their_own_version_node(exported):
    extras = {k: v for k, v in exported.items() if k.startswith("pvcam_sim_")}
    assert extras == {name: "PVCAM_SIM_1.0" for name in
                      ("pvcam_sim_set_cameras", "pvcam_sim_set_faults", "pvcam_sim_get_faults",
                       "pvcam_sim_set_frame_stamp", "pvcam_sim_get_frame_stamp")}


def test_nothing_else_is_exported():
    out = _run("nm", "-D", "--defined-only", str(sim.library_path()))
    names = {line.split()[-1].split("@")[0] for line in out.splitlines() if " T " in line or " D " in line
             or " B " in line}
    assert all(n.startswith(("pl_", "pvcam_")) for n in names), sorted(names)


def test_version_nodes_chain_like_the_vendor_library():
    out = _run("readelf", "-V", str(sim.library_path()))
    section = out.split("Version definition section")[1].split("Version needs section")[0]
    names = re.findall(r"Name: (\S+)", section)
    parents = re.findall(r"Parent 1: (\S+)", section)
    assert names == ["libpvcam.so.2", "PVCAM_CORE_1.0", "PVCAM_CORE_2.2", "PVCAM_CORE_2.3", "PVCAM_CORE_2.4",
                     "PVCAM_CORE_2.5", "PVCAM_CORE_2.6", "PVCAM_SIM_1.0"]
    assert parents == ["PVCAM_CORE_1.0", "PVCAM_CORE_2.2", "PVCAM_CORE_2.3", "PVCAM_CORE_2.4", "PVCAM_CORE_2.5"]


def test_soname_is_the_vendors():
    out = _run("readelf", "-d", str(sim.library_path()))
    assert "Library soname: [libpvcam.so.2]" in out
    assert (sim.library_dir() / "libpvcam.so").resolve() == sim.library_path().resolve()
