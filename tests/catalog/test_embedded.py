"""Tests of ophyd_pvcam.catalog: the embedded Tiled catalog, its writer and server.

Runs go through a real bluesky RunEngine into real Tiled catalogs. The camera
is a tiny ophyd v1 device defined here (the PVCAM device is tested elsewhere):
it appends frames to an HDF5 file with h5py (``/entry/data/data``, ``(N, H, W)``
uint16, frame number stamped in pixel 0) and emits StreamResource/StreamDatum
or, in legacy mode, Resource/Datum with spec ``PVCAM_HDF5``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import h5py
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky import plan_stubs as bps
from bluesky import plans as bp
from bluesky import preprocessors as bpp
from event_model import compose_resource, compose_stream_resource
from ophyd import Component as Cpt
from ophyd import Device, Signal
from ophyd.status import Status

import ophyd_pvcam
from ophyd_pvcam import catalog
from ophyd_pvcam.engine.errors import ValidationError

FRAME_SHAPE = (6, 8)
DATASET = "/entry/data/data"


def expected_frame(index: int) -> np.ndarray:
    """Frame ``index`` (0-based) as the test camera writes it: pixel 0 = index + 1."""
    frame = (np.arange(FRAME_SHAPE[0] * FRAME_SHAPE[1], dtype=np.uint16) * 7 + 100).reshape(
        FRAME_SHAPE)
    frame.flat[0] = index + 1
    return frame


def expected_frames(count: int) -> np.ndarray:
    return np.stack([expected_frame(i) for i in range(count)])


class H5Camera(Device):
    """One HDF5 file per stage, one frame per trigger; documents in either flavour."""

    mean = Cpt(Signal, value=0.0, kind="hinted")

    def __init__(self, *args, write_dir: Path, legacy: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.write_dir = Path(write_dir)
        self.legacy = legacy
        self._file = None
        self._dataset = None
        self._frames = 0
        self._emitted = 0
        self._pending: list = []
        self._datum_ids: list[str] = []

    @property
    def image_key(self) -> str:
        return f"{self.name}_image"

    def stage(self):
        self.write_dir.mkdir(parents=True, exist_ok=True)
        path = self.write_dir / f"{self.name}_{uuid.uuid4().hex}.h5"
        self._file = h5py.File(path, "w", libver="latest")
        self._dataset = self._file.create_dataset(
            DATASET, shape=(0, *FRAME_SHAPE), maxshape=(None, *FRAME_SHAPE),
            chunks=(1, *FRAME_SHAPE), dtype="<u2")
        # SWMR so the catalog can read frames while this file is still open.
        self._file.swmr_mode = True
        self._frames = 0
        self._emitted = 0
        if self.legacy:
            bundle = compose_resource(spec="PVCAM_HDF5", root=str(self.write_dir),
                                      resource_path=path.name,
                                      resource_kwargs={"dataset": DATASET})
            self._compose = bundle.compose_datum
            self._pending = [("resource", bundle.resource_doc)]
        else:
            bundle = compose_stream_resource(
                mimetype="application/x-hdf5", uri=f"file://localhost{path}",
                data_key=self.image_key,
                parameters={"dataset": DATASET, "chunk_shape": (1, *FRAME_SHAPE)})
            self._compose = bundle.compose_stream_datum
            self._pending = [("stream_resource", bundle.stream_resource_doc)]
        return super().stage()

    def unstage(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        return super().unstage()

    def trigger(self):
        frame = expected_frame(self._frames)
        self._dataset.resize(self._frames + 1, axis=0)
        self._dataset[self._frames] = frame
        self._dataset.flush()
        self._frames += 1
        self.mean.put(float(frame.mean()))
        if self.legacy:
            datum = self._compose(datum_kwargs={"point_number": self._frames - 1})
            self._datum_ids.append(datum["datum_id"])
            self._pending.append(("datum", datum))
        status = Status()
        status.set_finished()
        return status

    def describe(self):
        description = super().describe()
        description[self.image_key] = {
            "source": f"test:{self.name}", "dtype": "array", "shape": list(FRAME_SHAPE),
            "dtype_numpy": "<u2", "external": "FILESTORE:" if self.legacy else "STREAM:"}
        return description

    def read(self):
        reading = super().read()
        if self.legacy:
            reading[self.image_key] = {"value": self._datum_ids[-1], "timestamp": time.time()}
        return reading

    def collect_asset_docs(self, index=None):
        pending, self._pending = self._pending, []
        yield from pending
        if not self.legacy:
            stop = self._frames if index is None else index
            if stop > self._emitted:
                yield "stream_datum", self._compose(indices={"start": self._emitted, "stop": stop})
                self._emitted = stop



class StreamH5Camera(H5Camera):
    """get_index + collect_asset_docs: bluesky treats it as WritesStreamAssets."""

    def get_index(self):
        return self._frames


def h5_camera(directory: Path, *, legacy: bool = False, name: str = "cam") -> H5Camera:
    # A legacy (Resource/Datum) device must not have get_index, or bluesky
    # takes it for a stream-asset device.
    if legacy:
        return H5Camera(name=name, write_dir=directory, legacy=True)
    return StreamH5Camera(name=name, write_dir=directory)


@pytest.fixture(scope="module")
def shared_catalog(tmp_path_factory):
    """One local catalog for the tests that only add runs to it."""
    path = tmp_path_factory.mktemp("shared-catalog")
    yield path, catalog.local(path)
    catalog.close(path)


@pytest.fixture
def engine_for():
    """Make a RunEngine subscribed to catalog.writer(client)."""
    def make(client, **kwargs):
        engine = RunEngine({})
        engine.subscribe(catalog.writer(client, **kwargs))
        return engine
    return make


# --- default_path / frames_dir ---------------------------------------------------------

def test_default_path_honours_pvcam_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PVCAM_DATA_DIR", str(tmp_path / "pvcam"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert catalog.default_path() == tmp_path / "pvcam"


def test_default_path_falls_back_to_xdg_data_home_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PVCAM_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert catalog.default_path() == tmp_path / "xdg" / "ophyd-pvcam"
    # A relative XDG_DATA_HOME is invalid per the XDG spec and is ignored.
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert catalog.default_path() == tmp_path / "home" / ".local" / "share" / "ophyd-pvcam"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert catalog.default_path() == tmp_path / "home" / ".local" / "share" / "ophyd-pvcam"


def test_frames_dir_is_created_below_the_catalog_dir(tmp_path):
    frames = catalog.frames_dir(tmp_path / "new" / "catalog")
    assert frames == (tmp_path / "new" / "catalog" / "frames").resolve()
    assert frames.is_dir()


def test_local_and_frames_dir_without_path_use_pvcam_data_dir(monkeypatch, tmp_path, engine_for):
    monkeypatch.setenv("PVCAM_DATA_DIR", str(tmp_path / "env-dir"))
    try:
        client = catalog.local()
        assert (tmp_path / "env-dir" / "catalog.db").is_file()
        assert catalog.frames_dir() == (tmp_path / "env-dir" / "frames").resolve()
        engine_for(client)(bp.count([h5_camera(catalog.frames_dir())], 1))
        np.testing.assert_array_equal(client[-1].v3["primary"]["cam_image"].read(),
                                      expected_frames(1))
    finally:
        catalog.close()


# --- local(): reading runs back ---------------------------------------------------------

def test_count_frames_read_back_bit_exact_from_latest_run(shared_catalog, engine_for):
    path, client = shared_catalog
    cam = h5_camera(catalog.frames_dir(path))
    (uid,) = engine_for(client)(bp.count([cam], 3))
    run = client[-1]
    assert run.metadata["start"]["uid"] == uid
    frames = run.v3["primary"]["cam_image"].read()
    assert frames.dtype == np.uint16
    assert frames.shape == (3, *FRAME_SHAPE)
    np.testing.assert_array_equal(frames, expected_frames(3))
    np.testing.assert_array_equal(run.v3["primary"]["cam_mean"].read(),
                                  [expected_frame(i).mean() for i in range(3)])


def test_local_returns_the_same_client_for_the_same_resolved_path(shared_catalog, tmp_path):
    path, client = shared_catalog
    assert catalog.local(path) is client
    assert catalog.local(path / "frames" / "..") is client
    link = tmp_path / "link-to-catalog"
    link.symlink_to(path)
    assert catalog.local(link) is client


def test_frames_are_readable_while_the_run_is_still_going(shared_catalog, engine_for):
    path, client = shared_catalog
    cam = h5_camera(catalog.frames_dir(path))
    seen = {}

    @bpp.stage_decorator([cam])
    @bpp.run_decorator()
    def plan():
        for index in range(4):
            yield from bps.trigger_and_read([cam])
            if index == 1:
                # Still inside the run: the stop document has not been emitted.
                run = client[-1]
                seen["stop"] = run.metadata.get("stop")
                seen["frames"] = run.v3["primary"]["cam_image"].read()

    engine_for(client, batch_size=1)(plan())
    assert seen["stop"] is None
    np.testing.assert_array_equal(seen["frames"], expected_frames(2))
    np.testing.assert_array_equal(client[-1].v3["primary"]["cam_image"].read(),
                                  expected_frames(4))


def test_legacy_resource_datum_with_pvcam_hdf5_spec_ingests_and_reads_back(
        shared_catalog, engine_for):
    path, client = shared_catalog
    cam = h5_camera(catalog.frames_dir(path), legacy=True)
    documents = []
    engine = engine_for(client)
    engine.subscribe(lambda name, doc: documents.append((name, doc)))
    (uid,) = engine(bp.count([cam], 4))
    assert [doc["spec"] for name, doc in documents if name == "resource"] == ["PVCAM_HDF5"]
    assert sum(name == "datum" for name, _ in documents) == 4
    frames = client[uid].v3["primary"]["cam_image"].read()
    assert frames.dtype == np.uint16
    np.testing.assert_array_equal(frames, expected_frames(4))


def test_writer_rejects_a_batch_size_below_one(shared_catalog):
    _, client = shared_catalog
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValidationError):
            catalog.writer(client, batch_size=bad)


# --- readable storage -------------------------------------------------------------------

def test_extra_readable_storage_serves_frames_written_outside_frames_dir(tmp_path, engine_for):
    path = tmp_path / "catalog"
    elsewhere = tmp_path / "beamline-frames"
    try:
        client = catalog.local(path, readable_storage=[elsewhere])
        (uid,) = engine_for(client)(bp.count([h5_camera(elsewhere)], 2))
        np.testing.assert_array_equal(client[uid].v3["primary"]["cam_image"].read(),
                                      expected_frames(2))
    finally:
        catalog.close(path)


def test_frames_outside_readable_storage_fail_the_run_at_their_resource(tmp_path, engine_for):
    from ophyd_pvcam.engine.errors import ValidationError

    path = tmp_path / "catalog"
    try:
        client = catalog.local(path)
        with pytest.raises(ValidationError, match="readable_storage"):
            engine_for(client)(bp.count([h5_camera(tmp_path / "not-readable")], 2))
        # Found out during the run, not when reading it later: it is recorded as failed.
        run = client.values().last()
        assert run.metadata["stop"]["exit_status"] == "fail"
        assert "readable_storage" in run.metadata["stop"]["reason"]
    finally:
        catalog.close(path)


def test_reopening_with_more_readable_storage_requires_close(tmp_path):
    path = tmp_path / "catalog"
    try:
        catalog.local(path)
        with pytest.raises(catalog.CatalogError, match="close"):
            catalog.local(path, readable_storage=[tmp_path / "more"])
        catalog.close(path)
        client = catalog.local(path, readable_storage=[tmp_path / "more"])
        assert catalog.local(path, readable_storage=[tmp_path / "more"]) is client
    finally:
        catalog.close(path)


# --- persistence ----------------------------------------------------------------------

_READER = textwrap.dedent("""
    import hashlib, json, sys
    from ophyd_pvcam import catalog
    client = catalog.local(sys.argv[1])
    run = client[-1]
    frames = run.v3["primary"]["cam_image"].read()
    print(json.dumps({
        "uid": run.metadata["start"]["uid"],
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "sha256": hashlib.sha256(frames.tobytes()).hexdigest(),
        "mean": [float(x) for x in run.v3["primary"]["cam_mean"].read()],
    }))
    catalog.close(sys.argv[1])
""")


def _package_env() -> dict[str, str]:
    env = dict(os.environ)
    package_parent = str(Path(ophyd_pvcam.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return env


def test_a_new_process_reads_the_run_from_the_reopened_catalog(tmp_path, engine_for):
    path = tmp_path / "catalog"
    client = catalog.local(path)
    try:
        (uid,) = engine_for(client)(bp.count([h5_camera(catalog.frames_dir(path))], 3))
    finally:
        # Releases the DuckDB lock so the other process can read event columns.
        catalog.close(path)
    result = subprocess.run([sys.executable, "-c", _READER, str(path)], env=_package_env(),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = expected_frames(3)
    assert report == {
        "uid": uid, "shape": list(expected.shape), "dtype": "uint16",
        "sha256": hashlib.sha256(expected.tobytes()).hexdigest(),
        "mean": [float(expected_frame(i).mean()) for i in range(3)],
    }


# --- server() / connect() with runs (the server alone: tests/catalog/test_sharing.py) ---

def test_server_shares_the_catalog_over_http_on_loopback(tmp_path, engine_for):
    path = tmp_path / "catalog"
    with catalog.server(path) as srv:
        assert srv.uri.startswith("http://127.0.0.1:")
        client = catalog.connect(srv.uri, api_key=srv.api_key)
        (uid,) = engine_for(client)(bp.count([h5_camera(catalog.frames_dir(path))], 3))
        other = srv.client()
        assert other[-1].metadata["start"]["uid"] == uid
        np.testing.assert_array_equal(other[-1].v3["primary"]["cam_image"].read(),
                                      expected_frames(3))
        with pytest.raises(catalog.CatalogError):
            catalog.connect(srv.uri, api_key="wrong-key")
    assert not srv.running
    # The server released the directory: the embedded catalog sees the same run.
    try:
        np.testing.assert_array_equal(
            catalog.local(path)[uid].v3["primary"]["cam_image"].read(), expected_frames(3))
    finally:
        catalog.close(path)


# --- PostgreSQL (scale-out) -------------------------------------------------------------

def _find_postgres_bin(name: str):
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


def _postgres_bin(name: str) -> str:
    """Locate a PostgreSQL server program, installing Debian's package when it is missing.

    The scale-out test needs a real server; where the machine can install one
    (root with apt-get, as on CI), the test installs it rather than skip.
    """
    found = _find_postgres_bin(name)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600, env=env)
        subprocess.run(["apt-get", "install", "-y", "postgresql"], capture_output=True,
                       timeout=900, env=env)
        found = _find_postgres_bin(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL server program {name!r} not found and not installable here: "
                           "install it (Debian: apt-get install -y postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth); yields a URI factory."""
    # The server refuses to run as root: run it as the 'postgres' system user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # Not pytest's tmp_path: its parents are mode 0700 root, untraversable by 'postgres'.
    base = Path(tempfile.mkdtemp(prefix="ophyd-pvcam-pg-"))
    base.chmod(0o755)
    if as_user:
        shutil.chown(base, user="postgres")
    data, sockets, port = base / "data", base / "sockets", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, text=True,
                       timeout=120)

    run("mkdir", str(sockets))
    run(_postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
        "-E", "UTF8", "--no-locale")
    run(_postgres_bin("pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}", "start")

    def database(name: str) -> str:
        run(_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    try:
        yield database
    finally:
        run(_postgres_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_catalog_on_postgresql_writes_and_reads_a_run(postgres, tmp_path, engine_for):
    catalog_uri = postgres("catalog_inprocess").replace("postgresql://", "postgresql+asyncpg://")
    frames = tmp_path / "frames"
    client = catalog.open_catalog(
        catalog_uri,
        writable_storage=[tmp_path / "data", postgres("tables_inprocess")],
        readable_storage=[frames])
    try:
        roi = Signal(name="roi", value=np.array([0, 0, 8, 6], dtype=np.uint16))
        (uid,) = engine_for(client)(bp.count([h5_camera(frames), roi], 3))
        stream = client[-1].v3["primary"]
        assert client[-1].metadata["start"]["uid"] == uid
        np.testing.assert_array_equal(stream["cam_image"].read(), expected_frames(3))
        np.testing.assert_array_equal(stream["roi"].read(), [[0, 0, 8, 6]] * 3)
    finally:
        client.context.close()


@pytest.mark.slow
def test_tiled_server_on_postgresql_from_the_documented_config(postgres, tmp_path, engine_for):
    """The configuration of docs/howto/catalogs.md, served by `tiled serve config`."""
    frames, data = tmp_path / "frames", tmp_path / "data"
    frames.mkdir()
    data.mkdir()
    config = tmp_path / "tiled-config.yml"
    config.write_text(textwrap.dedent(f"""\
        authentication:
          single_user_api_key: ${{PVCAM_TILED_API_KEY}}
        trees:
          - path: /
            tree: catalog
            args:
              uri: {postgres("pvcam_catalog")}
              writable_storage:
                - {data}
                - {postgres("pvcam_tables")}
              readable_storage:
                - {frames}
              init_if_not_exists: true
              specs:
                - name: CatalogOfBlueskyRuns
                  version: "3.0"
        """))
    port = _free_port()
    tiled = Path(sys.executable).with_name("tiled")
    log = tmp_path / "tiled-serve.log"
    with log.open("w") as log_file:
        # A file, not a pipe: a full pipe would block the server.
        server = subprocess.Popen(
            [str(tiled), "serve", "config", str(config), "--host", "127.0.0.1",
             "--port", str(port)],
            env={**os.environ, "PVCAM_TILED_API_KEY": "testkey0123"},
            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        client = None
        for _ in range(600):  # wait for startup, bounded by the server staying alive
            if server.poll() is not None:
                pytest.fail(f"tiled serve exited: {log.read_text()}")
            try:
                client = catalog.connect(f"http://127.0.0.1:{port}", api_key="testkey0123")
                break
            except catalog.CatalogError:
                time.sleep(0.2)
        assert client is not None, "tiled serve never answered"
        (uid,) = engine_for(client)(bp.count([h5_camera(frames)], 3))
        assert client[-1].metadata["start"]["uid"] == uid
        np.testing.assert_array_equal(client[-1].v3["primary"]["cam_image"].read(),
                                      expected_frames(3))
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- detectors and readable storage ---------------------------------------------------

def test_a_run_whose_detector_writes_outside_readable_storage_is_refused_at_its_start(
        tmp_path, library, simulator_isolation):
    from ophyd_pvcam.device.detector import PVCAMDetector
    from ophyd_pvcam.engine.errors import ValidationError

    path = tmp_path / "catalog"
    cam = PVCAMDetector("cam", library=library, write_path=tmp_path / "elsewhere")
    try:
        client = catalog.local(path)
        engine = RunEngine({})
        engine.subscribe(catalog.writer(client))
        documents = []
        engine.subscribe(lambda name, doc: documents.append(name))
        with pytest.raises(ValidationError, match="readable_storage"):
            engine(bp.count([cam], 1))
        assert "start" not in documents          # refused before any run was recorded
        assert not list(client)
        cam.write_path = catalog.frames_dir(path)
        (uid,) = engine(bp.count([cam], 1))
        assert client[uid].v3["primary"]["cam_image"].read().shape[0] == 1
    finally:
        catalog.close(path)
        cam.close()
    cam_again = PVCAMDetector("cam", library=library, write_path=tmp_path / "elsewhere")
    try:
        cam_again.stage()                         # no catalog writer any more: no check
        cam_again.unstage()
    finally:
        cam_again.close()
