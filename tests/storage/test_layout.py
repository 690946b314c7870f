"""layout: the NeXus structure viewers rely on, compression names, attribute conversion."""
from __future__ import annotations

import enum

import h5py
import hdf5plugin
import numpy as np
import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.storage.layout import (
    DATA_PATH, METADATA_GROUP, PER_FRAME_FIELDS, UNASSIGNED_DATA_PATH, UNASSIGNED_GROUP,
    attribute_value, compression_options, create_layout, set_aside_frames,
)


def test_layout_has_the_nexus_attributes_viewers_follow(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w", libver=("v110", "latest")) as h5file:
        create_layout(h5file, (32, 40), np.dtype("uint16"))
    with h5py.File(tmp_path / "f.h5", "r") as h5file:
        # root -> entry -> data -> signal: the chain silx/h5web follow to the default plot.
        assert h5file.attrs["NX_class"] == "NXroot"
        entry = h5file[h5file.attrs["default"]]
        assert entry.attrs["NX_class"] == "NXentry"
        nxdata = entry[entry.attrs["default"]]
        assert nxdata.attrs["NX_class"] == "NXdata"
        signal = nxdata[nxdata.attrs["signal"]]
        assert signal.name == DATA_PATH
        assert signal.attrs["interpretation"] == "image"
        assert signal.shape == (0, 32, 40) and signal.maxshape == (None, 32, 40)
        assert signal.chunks == (1, 32, 40)
        detector = h5file[METADATA_GROUP]
        assert detector.attrs["NX_class"] == "NXdetector"
        assert h5file["/entry/instrument"].attrs["NX_class"] == "NXinstrument"
        for name in PER_FRAME_FIELDS:
            assert detector[name].shape == (0,) and detector[name].maxshape == (None,)
        # NXdetector/data is the same dataset, not a copy.
        assert detector["data"] == signal


def test_compression_names_map_to_the_hdf5plugin_filters():
    assert compression_options(None) == {}
    assert compression_options("none") == {}
    assert compression_options("bitshuffle-lz4") == dict(hdf5plugin.Bitshuffle(cname="lz4"))
    assert compression_options("blosc")["compression"] == hdf5plugin.BLOSC_ID
    assert compression_options(hdf5plugin.Zstd()) == dict(hdf5plugin.Zstd())
    with pytest.raises(ValidationError):
        compression_options("rar")


class _Mode(enum.Enum):
    SENSITIVITY = 0


@pytest.mark.parametrize("value, stored", [
    (3, 3), (0.5, 0.5), (True, True), ("Speed", "Speed"), (_Mode.SENSITIVITY, "SENSITIVITY"),
    (None, "null"), ({"a": [1, 2]}, '{"a": [1, 2]}'), ([], "[]"), (["a", 1], '["a", 1]'),
])
def test_attribute_values_become_hdf5_storable(value, stored):
    assert attribute_value(value) == stored


def test_numeric_sequences_become_arrays():
    np.testing.assert_array_equal(attribute_value((1, 2, 3)), np.array([1, 2, 3]))
    assert attribute_value([1.5, 2]).dtype.kind == "f"


def test_set_aside_frames_moves_the_frames_past_keep_with_their_metadata(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w", libver=("v110", "latest")) as h5file:
        data, per_frame = create_layout(h5file, (4, 5), np.dtype("uint16"))
        data.resize(5, axis=0)
        data[...] = np.arange(5, dtype=np.uint16)[:, None, None]
        for dataset in per_frame.values():
            dataset.resize(5, axis=0)
        per_frame["frame_number"][...] = np.arange(1, 6)
    assert set_aside_frames(path, 3) == 2
    assert set_aside_frames(path, 3) == 0          # nothing past keep any more
    with h5py.File(path, "r") as h5file:
        assert h5file[DATA_PATH].shape == (3, 4, 5)
        assert list(h5file[DATA_PATH][:, 0, 0]) == [0, 1, 2]
        assert list(h5file[UNASSIGNED_DATA_PATH][:, 0, 0]) == [3, 4]
        assert list(h5file[f"{METADATA_GROUP}/frame_number"][()]) == [1, 2, 3]
        assert list(h5file[f"{UNASSIGNED_GROUP}/frame_number"][()]) == [4, 5]
        for name in PER_FRAME_FIELDS:
            assert h5file[f"{METADATA_GROUP}/{name}"].shape == (3,)
            assert h5file[f"{UNASSIGNED_GROUP}/{name}"].shape == (2,)
