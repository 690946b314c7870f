"""Tests of ophyd_pvcam.catalog.sharing: the catalog over HTTP, and its re-export by catalog.

Runs written through a served catalog are tested in tests/catalog/test_embedded.py
(they need that file's test camera); here the server and client alone.
"""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from ophyd_pvcam import catalog
from ophyd_pvcam.catalog import sharing as catalog_server
from ophyd_pvcam.engine.errors import ValidationError


def test_catalog_re_exports_the_server_names_as_the_same_objects():
    for name in catalog_server.__all__:
        assert name in catalog.__all__
        assert getattr(catalog, name) is getattr(catalog_server, name)


@pytest.mark.parametrize("first", ["ophyd_pvcam.catalog.sharing", "ophyd_pvcam.catalog"])
def test_either_module_imports_first_in_a_fresh_interpreter(first):
    code = (f"import {first}\n"
            "from ophyd_pvcam.catalog import CatalogServer, connect, server\n"
            "from ophyd_pvcam.catalog.sharing import CatalogServer as Same\n"
            "assert CatalogServer is Same\n")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120)
    assert process.returncode == 0, process.stderr


def test_server_serves_a_catalog_of_runs_to_its_key_only_and_stops_on_close(tmp_path):
    path = tmp_path / "catalog"
    with catalog_server.server(path, api_key="key0123") as srv:
        assert srv.running
        assert srv.api_key == "key0123"
        assert srv.uri == f"http://127.0.0.1:{srv.port}"
        assert str(srv.uri) in repr(srv)
        client = srv.client()
        assert any(spec.name == catalog.CATALOG_SPEC["name"] for spec in client.specs)
        assert len(client) == 0
        with pytest.raises(catalog.CatalogError, match="cannot connect"):
            catalog_server.connect(srv.uri, api_key="wrong0key")
    assert not srv.running
    assert (path / "catalog.db").is_file()
    srv.close()  # idempotent


def test_server_rejects_an_api_key_tiled_would_refuse(tmp_path):
    with pytest.raises(ValidationError, match="letters and digits"):
        catalog_server.server(tmp_path / "catalog", api_key="not-alphanumeric")
    assert not (tmp_path / "catalog").exists()


def test_connect_to_a_closed_port_raises_catalog_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(catalog.CatalogError, match="cannot connect"):
        catalog_server.connect(f"http://127.0.0.1:{port}", api_key="x")


def test_share_publishes_an_owner_only_address_that_connect_shared_uses_until_close(tmp_path):
    import json
    import stat

    path = tmp_path / "catalog"
    with catalog_server.share(path, api_key="key0123") as srv:
        address_file = path / catalog_server.SHARED_ADDRESS_FILE
        assert json.loads(address_file.read_text())["uri"] == srv.uri
        assert stat.S_IMODE(address_file.stat().st_mode) == 0o600  # it holds the key
        client = catalog_server.connect_shared(path)
        assert any(spec.name == catalog.CATALOG_SPEC["name"] for spec in client.specs)
    assert not address_file.exists()
    with pytest.raises(catalog.CatalogError, match="no server shares"):
        catalog_server.connect_shared(path)


def test_connect_shared_from_another_process_reads_the_served_catalog(tmp_path):
    path = tmp_path / "catalog"
    code = ("import sys; from ophyd_pvcam import catalog\n"
            "print('RUNS', len(catalog.connect_shared(sys.argv[1])))\n")
    with catalog_server.share(path):
        process = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                                 text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert "RUNS 0" in process.stdout


def test_connect_shared_to_a_server_that_is_gone_raises_catalog_error(tmp_path):
    import json

    path = tmp_path / "catalog"
    srv = catalog_server.share(path)
    stale = json.loads((path / catalog_server.SHARED_ADDRESS_FILE).read_text())
    srv.close()
    # What a killed process leaves behind: the file, no server.
    (path / catalog_server.SHARED_ADDRESS_FILE).write_text(json.dumps(stale))
    with pytest.raises(catalog.CatalogError, match="cannot connect"):
        catalog_server.connect_shared(path)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, timeout=60)
    stale["pid"] = int(ended.stdout)  # a process that has exited
    (path / catalog_server.SHARED_ADDRESS_FILE).write_text(json.dumps(stale))
    with pytest.raises(catalog.CatalogError, match=f"process {stale['pid']}, which shared it, has ended"):
        catalog_server.connect_shared(path)


@pytest.mark.parametrize("port", [-1, 65536, "8000", True])
def test_share_rejects_a_port_that_is_no_tcp_port(tmp_path, port):
    with pytest.raises(ValidationError, match="TCP port"):
        catalog_server.share(tmp_path / "catalog", port=port)
