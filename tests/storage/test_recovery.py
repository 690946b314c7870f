"""recovery: lookup3 against the reference values, and clearing a killed writer's flags."""
from __future__ import annotations

import signal

import h5py
import numpy as np
import pytest

from ophyd_pvcam.storage.errors import StorageError
from ophyd_pvcam.storage.recovery import clear_swmr_flags, lookup3


def test_lookup3_matches_the_reference_implementation():
    # Values printed by driver5() of Bob Jenkins' lookup3.c.
    assert lookup3(b"", 0) == 0xDEADBEEF
    assert lookup3(b"", 0xDEADBEEF) == 0xBD5B7DDE
    assert lookup3(b"Four score and seven years ago", 0) == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161


_KILL_ME = """
import os, sys, h5py
f = h5py.File(sys.argv[1], "w", libver=("v110", "latest"))
d = f.create_dataset("d", shape=(0,), maxshape=(None,), chunks=(8,), dtype="i4")
f.swmr_mode = True
d.resize((5,)); d[:] = [1, 2, 3, 4, 5]
f.flush()
os.kill(os.getpid(), 9)
"""


@pytest.fixture
def killed_swmr_file(tmp_path, spawn_python):
    path = tmp_path / "killed.h5"
    child = spawn_python(_KILL_ME, str(path))
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    return path


def test_clearing_flags_lets_plain_readers_open_a_killed_writers_file(killed_swmr_file):
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(killed_swmr_file, "r")
    assert clear_swmr_flags(killed_swmr_file) is True
    with h5py.File(killed_swmr_file, "r") as h5file:
        np.testing.assert_array_equal(h5file["d"][:], [1, 2, 3, 4, 5])
    # Already clean: nothing to do.
    assert clear_swmr_flags(killed_swmr_file) is False


def test_a_superblock_whose_checksum_fails_is_left_untouched(killed_swmr_file):
    raw = bytearray(killed_swmr_file.read_bytes())
    raw[20] ^= 0xFF  # inside the base-address field: the checksum no longer matches
    killed_swmr_file.write_bytes(raw)
    with pytest.raises(StorageError, match="checksum"):
        clear_swmr_flags(killed_swmr_file)
    assert killed_swmr_file.read_bytes() == bytes(raw)


def test_non_hdf5_files_are_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not hdf5 at all")
    with pytest.raises(StorageError, match="not an HDF5 file"):
        clear_swmr_flags(path)


def test_files_with_an_old_superblock_need_no_clearing(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w", libver="earliest") as h5file:
        h5file["x"] = 1
    assert clear_swmr_flags(path) is False
