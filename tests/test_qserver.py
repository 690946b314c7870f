"""The shipped profile under bluesky-queueserver: plans validate with devices by name, queued runs land.

Two levels:

* in this process, the startup files are loaded the way the RE Manager's worker
  loads them, and every shipped plan is validated and prepared with ``"cam"``
  passed by name (what queueserver does before running an item);
* a real deployment: Redis and ``start-re-manager`` (Python worker on the
  shipped startup directory; IPython-kernel worker on the layout of
  ``ophyd-pvcam qserver init``), every socket on 127.0.0.1 and free ports,
  driven with bluesky_queueserver_api. The queue runs ``count`` and
  ``fly_stream``, a second process reads both runs back while the environment
  still holds the catalog, and ``scan_id`` keeps counting across a close/open.

Every wait is bounded; everything started is stopped in ``finally``.
"""
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ophyd_pvcam.cli.qserver import EXISTING_PLANS_FILE, PERMISSIONS_FILE, init_layout, manager_command
from ophyd_pvcam.cli.shell import profile_dir

REPO = Path(__file__).resolve().parents[1]
STARTUP = profile_dir() / "startup"
SHIPPED_PLANS = ["count", "fly_stream", "dark_frames", "exposure_series", "fly_with_motor"]
API_KEY = "qserver0test0key"

pytestmark = [pytest.mark.qserver, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- plans validate with devices by name (no manager) -------------------------------------

@pytest.fixture(scope="module")
def profile_namespace(tmp_path_factory, library):
    """The startup files loaded by queueserver's own loader, on the simulator; closed after."""
    from bluesky_queueserver.manager.profile_ops import load_worker_startup_code

    from ophyd_pvcam import catalog

    from ophyd_pvcam import sim

    data = tmp_path_factory.mktemp("profile-data")
    sim.set_cameras("prime-bsi")
    sim.set_faults("")
    saved = dict(os.environ)
    level = logging.getLogger("ophyd_pvcam").level
    os.environ.update({"PVCAM_LIBRARY": "sim", "PVCAM_DATA_DIR": str(data)})
    for name in ("PVCAM_CATALOG_URI", "PVCAM_CATALOG_PORT", "DISPLAY", "WAYLAND_DISPLAY"):
        os.environ.pop(name, None)
    nspace = None
    try:
        nspace = load_worker_startup_code(startup_dir=str(STARTUP))
        yield nspace
    finally:
        if nspace is not None and "cam" in nspace:
            nspace["cam"].close()
        catalog.close(data)
        os.environ.clear()
        os.environ.update(saved)
        logging.getLogger("ophyd_pvcam").setLevel(level)


def _allowed_for_primary(nspace):
    """What the shipped permissions allow the default group, as the manager computes it."""
    from bluesky_queueserver.manager.profile_ops import (existing_plans_and_devices_from_nspace,
                                                         load_allowed_plans_and_devices)

    plans, devices, plans_in_nspace, devices_in_nspace = existing_plans_and_devices_from_nspace(
        nspace=nspace)
    allowed_plans, allowed_devices = load_allowed_plans_and_devices(
        existing_plans=plans, existing_devices=devices,
        path_user_group_permissions=str(STARTUP / PERMISSIONS_FILE))
    return allowed_plans, allowed_devices, plans_in_nspace, devices_in_nspace


def test_every_shipped_plan_validates_and_prepares_with_the_camera_passed_by_name(profile_namespace):
    from bluesky_queueserver.manager.profile_ops import prepare_plan, validate_plan

    allowed_plans, allowed_devices, plans_in_nspace, devices_in_nspace = _allowed_for_primary(
        profile_namespace)
    assert set(SHIPPED_PLANS) <= set(allowed_plans["primary"])
    assert "cam" in allowed_devices["primary"]
    motor = "cam.exposure_time"  # any Movable by name will do for fly_with_motor
    items = {
        "count": ([["cam"]], {"num": 2}),
        "fly_stream": ([["cam"]], {"num_frames": 5}),
        "dark_frames": (["cam"], {"num": 2, "exposure": 0.01}),
        "exposure_series": (["cam"], {"exposures": [0.001, 0.01], "frames_per_point": 2}),
        "fly_with_motor": (["cam", motor, 0.01, 0.02, 5], {}),
    }
    for name, (args, kwargs) in items.items():
        plan = {"name": name, "args": args, "kwargs": kwargs, "user_group": "primary"}
        ok, message = validate_plan(plan, allowed_plans=allowed_plans["primary"],
                                    allowed_devices=allowed_devices["primary"])
        assert ok, f"{name}: {message}"
        prepared = prepare_plan(plan, plans_in_nspace=plans_in_nspace,
                                devices_in_nspace=devices_in_nspace, allowed_plans=allowed_plans,
                                allowed_devices=allowed_devices, nspace=profile_namespace)
        values = list(prepared["args"]) + list(prepared["kwargs"].values())
        flat = [item for value in values for item in (value if isinstance(value, list) else [value])]
        # "cam" became the device itself (not a string without .name)
        assert any(item is profile_namespace["cam"] for item in flat), f"{name}: {prepared['args']}"
        if name == "fly_with_motor":
            assert prepared["args"][1] is profile_namespace["cam"].exposure_time


def test_profile_keeps_re_md_under_the_data_directory(profile_namespace):
    from bluesky.utils import PersistentDict

    md = profile_namespace["RE"].md
    assert isinstance(md, PersistentDict)
    assert Path(md.directory).parent == Path(os.environ["PVCAM_DATA_DIR"]).resolve()


def test_profile_refuses_a_catalog_port_that_is_no_number(tmp_path):
    # IPython writes history, log/, pid/ and security/ into its profile folder: a copy,
    # never the package's.
    copy = tmp_path / "profile"
    shutil.copytree(profile_dir(), copy)
    env = {**os.environ, "PVCAM_LIBRARY": "sim", "PVCAM_DATA_DIR": str(tmp_path / "data"),
           "PVCAM_CATALOG_PORT": "http://127.0.0.1:8000", "IPYTHONDIR": str(tmp_path / "ipython"),
           "MPLBACKEND": "Agg"}
    env.pop("PVCAM_CATALOG_URI", None)
    result = subprocess.run([sys.executable, "-m", "IPython", f"--profile-dir={copy}",
                             "--no-banner", "--colors=NoColor", "-c", "print('SERVED', db)"],
                            capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    output = result.stdout + result.stderr
    assert "PVCAM_CATALOG_PORT must be a TCP port number" in output
    assert "name 'db' is not defined" in output  # no catalog was set up


def test_shipped_permissions_offer_the_profile_plans_and_hide_private_names():
    import yaml

    groups = yaml.safe_load((STARTUP / PERMISSIONS_FILE).read_text())["user_groups"]
    assert groups["root"]["forbidden_plans"] == [":^_"]
    assert groups["primary"]["allowed_plans"] == [":.*"]


# --- the RE Manager with Redis ------------------------------------------------------------

def _find_redis_server():
    return shutil.which("redis-server") or next(
        (str(p) for p in (Path("/usr/bin/redis-server"), Path("/usr/sbin/redis-server"))
         if p.exists()), None)


def _redis_server_bin() -> str:
    """Locate redis-server, installing Debian's package when it is missing (as for PostgreSQL)."""
    found = _find_redis_server()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600, env=env)
        subprocess.run(["apt-get", "install", "-y", "redis-server"], capture_output=True,
                       timeout=900, env=env)
        found = _find_redis_server()
    if found is None:
        raise RuntimeError("redis-server not found and not installable here: install it "
                           "(Debian: apt-get install -y redis-server)")
    return found


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


@pytest.fixture(scope="module")
def redis_address(tmp_path_factory):
    """A throwaway Redis on 127.0.0.1 (no persistence); yields ``host:port``."""
    import redis

    base = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log = base / "redis.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [_redis_server_bin(), "--bind", "127.0.0.1", "--port", str(port),
             "--protected-mode", "yes", "--save", "", "--appendonly", "no", "--dir", str(base)],
            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"redis-server exited: {log.read_text()}")
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"redis-server never answered: {log.read_text()}"
            time.sleep(0.1)
        client.close()
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


def _manager_env(data: Path, base: Path, catalog_port: int) -> dict:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "PVCAM_LIBRARY": "sim", "PVCAM_SIM_CAMERAS": "prime-bsi",
           "PVCAM_DATA_DIR": str(data), "PVCAM_CATALOG_PORT": str(catalog_port),
           "PVCAM_CATALOG_API_KEY": API_KEY,
           # Loopback only: no proxy for the catalog's HTTP, kernels and config in the test dir.
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
           "IPYTHONDIR": str(base / "ipython-home"), "JUPYTER_RUNTIME_DIR": str(base / "jupyter"),
           "MPLBACKEND": "Agg"}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "PVCAM_SIM_FAULTS", "PVCAM_CATALOG_URI",
                 "QSERVER_ZMQ_CONTROL_ADDRESS_FOR_SERVER", "QSERVER_ZMQ_INFO_ADDRESS_FOR_SERVER",
                 "QSERVER_CONFIG"):
        env.pop(name, None)
    return env


class Manager:
    """A running ``start-re-manager`` and its API client; ``stop()`` ends both."""

    def __init__(self, command: list, env: dict, log: Path, control: str, info: str):
        from bluesky_queueserver_api.zmq import REManagerAPI

        self.log = log
        with log.open("w") as log_file:
            program = Path(sys.executable).with_name(command[0])
            self.process = subprocess.Popen([str(program), *command[1:]], env=env,
                                            stdout=log_file, stderr=subprocess.STDOUT)
        self.api = REManagerAPI(zmq_control_addr=control, zmq_info_addr=info, timeout_recv=10)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, f"start-re-manager exited: {self.output()}"
            try:
                self.api.status(reload=True)
                break
            except Exception:  # noqa: BLE001 - not listening yet; bounded by the deadline
                assert time.monotonic() < deadline, f"the manager never answered: {self.output()}"
                time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text()[-6000:]

    def wait_idle(self, timeout: float) -> dict:
        self.api.wait_for_idle(timeout=timeout)
        return self.api.status(reload=True)

    def open_environment(self) -> None:
        self.api.environment_open()
        status = self.wait_idle(timeout=180)
        assert status["worker_environment_exists"], self.output()

    def close_environment(self) -> None:
        self.api.environment_close()
        status = self.wait_idle(timeout=120)
        assert not status["worker_environment_exists"], self.output()

    def run_queue(self, *items) -> list:
        """Queue ``items``, run the queue, return the history items they became."""
        from bluesky_queueserver_api import BPlan

        before = len(self.api.history_get()["items"])
        for name, args, kwargs in items:
            response = self.api.item_add(BPlan(name, *args, **kwargs))
            assert response["success"], response
        self.api.queue_start()
        self.wait_idle(timeout=300)
        history = self.api.history_get()["items"][before:]
        assert len(history) == len(items), self.output()
        return history

    def stop(self) -> None:
        import psutil

        # The worker (and its IPython kernel) are the manager's children: end
        # any that outlive the manager, e.g. when a request below fails.
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        try:
            if self.process.poll() is None:
                status = self.api.status(reload=True)
                if status["worker_environment_exists"]:
                    self.api.environment_destroy()
                    self.api.wait_for_idle(timeout=60)
                self.api.send_request(method="manager_stop", params={"option": "safe_off"})
                self.process.wait(timeout=60)
        finally:
            self.api.close()
            _stop(self.process)
            for child in children:
                try:
                    child.terminate()
                except psutil.NoSuchProcess:
                    continue
            _, alive = psutil.wait_procs(children, timeout=30)
            for child in alive:
                child.kill()


READER = textwrap.dedent("""\
    import json, sys
    from ophyd_pvcam import catalog
    data_dir, uri, api_key, uids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    shared = catalog.connect_shared(data_dir)   # the address the profile published
    direct = catalog.connect(uri, api_key=api_key)
    out = {}
    for uid in uids:
        run = shared[uid]
        image = run.v3["primary"]["cam_image"].read()
        out[uid] = {"frames": int(image.shape[0]), "plan": run.metadata["start"]["plan_name"],
                    "scan_id": run.metadata["start"]["scan_id"],
                    "same": direct[uid].metadata["start"]["uid"] == uid}
    print(json.dumps(out))
    """)


def _read_runs_from_another_process(data: Path, catalog_port: int, uids: list, env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", READER, str(data), f"http://127.0.0.1:{catalog_port}", API_KEY,
         *uids], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _exercise(manager: Manager, data: Path, catalog_port: int, env: dict) -> None:
    """Open, run count and fly_stream with "cam" by name, read back from elsewhere, reopen."""
    manager.open_environment()
    devices = manager.api.devices_allowed()["devices_allowed"]
    assert "cam" in devices
    plans = manager.api.plans_allowed()["plans_allowed"]
    assert set(SHIPPED_PLANS) <= set(plans)

    history = manager.run_queue(("count", (["cam"],), {"num": 3}),
                                ("fly_stream", (["cam"],), {"num_frames": 40}))
    assert [item["name"] for item in history] == ["count", "fly_stream"]
    for item in history:
        assert item["result"]["exit_status"] == "completed", (item["result"], manager.output())
    uids = [item["result"]["run_uids"][0] for item in history]
    scan_ids = [item["result"]["scan_ids"][0] for item in history]
    assert scan_ids[1] == scan_ids[0] + 1

    # The environment (which holds the catalog) is still open.
    assert manager.api.status(reload=True)["worker_environment_exists"]
    runs = _read_runs_from_another_process(data, catalog_port, uids, env)
    assert runs[uids[0]] == {"frames": 3, "plan": "count", "scan_id": scan_ids[0], "same": True}
    assert runs[uids[1]] == {"frames": 40, "plan": "fly_stream", "scan_id": scan_ids[1],
                             "same": True}

    # scan_id continues across a close/open of the environment (RE.md persists).
    manager.close_environment()
    manager.open_environment()
    (again,) = manager.run_queue(("count", (["cam"],), {"num": 1}))
    assert again["result"]["exit_status"] == "completed", again["result"]
    assert again["result"]["scan_ids"] == [scan_ids[1] + 1]


def _start_manager(tmp_path: Path, command: list, env: dict) -> Manager:
    return Manager(command, env, tmp_path / "re-manager.log",
                   _zmq(command, "--zmq-control-addr"), _zmq(command, "--zmq-info-addr"))


def _zmq(command: list, option: str) -> str:
    (address,) = [arg.split("=", 1)[1] for arg in command if arg.startswith(option + "=")]
    assert address.startswith("tcp://127.0.0.1:")
    return address


@pytest.mark.timeout(900)  # every wait inside is bounded; their sum exceeds the default
def test_python_worker_on_the_shipped_startup_dir_runs_count_and_fly_stream_by_name(
        tmp_path, redis_address):
    data, catalog_port = tmp_path / "data", _free_port()
    existing_plans = tmp_path / "qserver" / EXISTING_PLANS_FILE  # outside the package
    existing_plans.parent.mkdir()
    env = _manager_env(data, tmp_path, catalog_port)
    before = {p: p.stat().st_mtime_ns for p in STARTUP.iterdir()}
    command = ["start-re-manager",
               f"--zmq-control-addr=tcp://127.0.0.1:{_free_port()}",
               f"--zmq-info-addr=tcp://127.0.0.1:{_free_port()}", "--zmq-publish-console=ON",
               f"--redis-addr={redis_address}", f"--redis-name-prefix=qs_{tmp_path.name}",
               f"--startup-dir={STARTUP}", f"--existing-plans-devices={existing_plans}"]
    manager = _start_manager(tmp_path, command, env)
    try:
        _exercise(manager, data, catalog_port, env)
    finally:
        manager.stop()
    assert existing_plans.is_file()
    assert {p: p.stat().st_mtime_ns for p in STARTUP.iterdir()} == before  # package untouched


@pytest.mark.timeout(900)
def test_ipython_kernel_worker_on_the_init_layout_runs_count_and_fly_stream_by_name(
        tmp_path, redis_address):
    data, catalog_port = tmp_path / "data", _free_port()
    layout = init_layout(tmp_path / "profiles")
    env = _manager_env(data, tmp_path, catalog_port)
    command = manager_command(layout, ipython_kernel=True, redis=redis_address,
                              control_port=_free_port(), info_port=_free_port())
    command.append(f"--redis-name-prefix=qs_{tmp_path.name}")
    manager = _start_manager(tmp_path, command, env)
    try:
        _exercise(manager, data, catalog_port, env)
        assert manager.api.status(reload=True)["ip_kernel_state"] is not None
    finally:
        manager.stop()
    assert layout.existing_plans_file.is_file()
