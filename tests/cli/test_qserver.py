"""Tests of ophyd_pvcam/cli/qserver.py: the profile laid out for bluesky-queueserver.

The manager itself runs on these layouts in tests/test_qserver.py.
"""
import shlex

import pytest

from ophyd_pvcam.cli import EXIT_ERROR, main
from ophyd_pvcam.cli.qserver import PERMISSIONS_FILE, init_layout, manager_command
from ophyd_pvcam.cli.shell import profile_dir
from ophyd_pvcam.engine.errors import ValidationError

SHIPPED = sorted([p.name for p in (profile_dir() / "startup").glob("*.py")] + [PERMISSIONS_FILE])


def test_init_copies_the_profile_into_the_ipython_layout_and_prints_loopback_commands(tmp_path, capsys):
    assert main(["qserver", "init", str(tmp_path / "qs")]) == 0
    startup = tmp_path / "qs" / "profile_ophyd_pvcam" / "startup"
    assert sorted(p.name for p in startup.iterdir()) == SHIPPED
    for name in SHIPPED:
        assert (startup / name).read_bytes() == (profile_dir() / "startup" / name).read_bytes()
    commands = [shlex.split(line) for line in capsys.readouterr().out.splitlines()
                if line.strip().startswith("start-re-manager")]
    assert len(commands) == 2
    python_worker, ipython_worker = commands
    assert f"--startup-dir={startup}" in python_worker
    assert "--use-ipython-kernel=ON" in ipython_worker
    assert f"--ipython-dir={tmp_path / 'qs'}" in ipython_worker
    assert "--startup-profile=ophyd_pvcam" in ipython_worker
    for command in commands:
        sockets = [arg for arg in command if arg.startswith(("--zmq-control-addr", "--zmq-info-addr"))]
        assert len(sockets) == 2 and all("tcp://127.0.0.1:" in arg for arg in sockets)
        assert f"--existing-plans-devices={startup / 'existing_plans_and_devices.yaml'}" in command


def test_init_refuses_to_overwrite_an_edited_file_unless_forced(tmp_path, capsys):
    layout = init_layout(tmp_path)
    edited = layout.startup_dir / "10-camera.py"
    edited.write_text("cam = None  # the beamline's own camera\n")
    assert main(["qserver", "init", str(tmp_path)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "10-camera.py" in err and "--force" in err
    assert edited.read_text().startswith("cam = None")
    assert main(["qserver", "init", "--force", str(tmp_path)]) == 0
    assert edited.read_bytes() == (profile_dir() / "startup" / "10-camera.py").read_bytes()


def test_init_again_on_an_unchanged_layout_succeeds(tmp_path):
    first = init_layout(tmp_path)
    assert init_layout(tmp_path) == first


@pytest.mark.parametrize("name", ["", "../elsewhere", "a b"])
def test_init_rejects_a_profile_name_that_is_not_a_plain_name(tmp_path, name):
    with pytest.raises(ValidationError, match="profile name"):
        init_layout(tmp_path, profile_name=name)
    assert not any(tmp_path.iterdir())


def test_manager_command_names_the_given_redis_and_ports(tmp_path):
    command = manager_command(init_layout(tmp_path), redis="127.0.0.1:7000", control_port=7001,
                              info_port=7002)
    assert command[0] == "start-re-manager"
    assert "--redis-addr=127.0.0.1:7000" in command
    assert "--zmq-control-addr=tcp://127.0.0.1:7001" in command
    assert "--zmq-info-addr=tcp://127.0.0.1:7002" in command


@pytest.mark.parametrize("words", [["qserver"], ["qserver", "init"]], ids=" ".join)
def test_qserver_commands_have_help(words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--help"])
    assert exit_info.value.code == 0
    assert "usage: ophyd-pvcam" in capsys.readouterr().out
