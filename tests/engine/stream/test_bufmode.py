"""Tests of ophyd_pvcam.engine.stream.bufmode: buffer-mode names, choice order and per-camera memory.

The fallback itself (setup + start against a camera that refuses CIRC_OVERWRITE)
runs against the simulator in test_stream.py.
"""

import pytest

from ophyd_pvcam.engine.stream.bufmode import (
    RejectedModes,
    candidate_modes,
    mode_name,
    parse_buffer_mode,
)
from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.sdk import constants as C


class FakeCamera:
    """Only what the memory key needs: a library path and a camera name (plain data)."""

    class library:
        path = "/opt/pvcam/library/x86_64/libpvcam.so.2"

    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize("value, expected", [
    ("auto", None), (None, None), ("overwrite", C.CIRC_OVERWRITE),
    ("no_overwrite", C.CIRC_NO_OVERWRITE), ("No-Overwrite", C.CIRC_NO_OVERWRITE),
    ("CIRC_OVERWRITE", C.CIRC_OVERWRITE), (C.CIRC_NO_OVERWRITE, C.CIRC_NO_OVERWRITE),
])
def test_buffer_mode_spellings(value, expected):
    assert parse_buffer_mode(value) == expected


@pytest.mark.parametrize("value", ["circular", 0, 3, C.CIRC_NONE, 1.5])
def test_unknown_buffer_modes_are_refused(value):
    with pytest.raises(ValidationError):
        parse_buffer_mode(value)


def test_mode_names():
    assert mode_name(C.CIRC_OVERWRITE) == "CIRC_OVERWRITE"
    assert mode_name(None) == ""
    assert mode_name(9) == "CIRC_9"


def test_auto_prefers_overwrite_then_no_overwrite():
    memory = RejectedModes()
    assert candidate_modes(FakeCamera("a"), None, memory) == [C.CIRC_OVERWRITE,
                                                              C.CIRC_NO_OVERWRITE]


def test_a_refused_mode_is_skipped_for_that_camera_only():
    memory = RejectedModes()
    assert memory.remember(FakeCamera("a"), C.CIRC_OVERWRITE, "error 185")
    assert not memory.remember(FakeCamera("a"), C.CIRC_OVERWRITE, "error 185")
    assert candidate_modes(FakeCamera("a"), None, memory) == [C.CIRC_NO_OVERWRITE]
    assert candidate_modes(FakeCamera("b"), None, memory) == [C.CIRC_OVERWRITE,
                                                              C.CIRC_NO_OVERWRITE]
    assert memory.rejected(FakeCamera("a")) == {"CIRC_OVERWRITE": "error 185"}
    memory.forget(FakeCamera("a"))
    assert memory.rejected(FakeCamera("a")) == {}


def test_a_forced_mode_is_tried_alone_even_if_refused_before():
    memory = RejectedModes()
    memory.remember(FakeCamera("a"), C.CIRC_OVERWRITE, "error 185")
    assert candidate_modes(FakeCamera("a"), C.CIRC_OVERWRITE, memory) == [C.CIRC_OVERWRITE]


def test_when_both_modes_were_refused_both_are_tried_again():
    memory = RejectedModes()
    for mode in (C.CIRC_OVERWRITE, C.CIRC_NO_OVERWRITE):
        memory.remember(FakeCamera("a"), mode, "refused")
    assert len(candidate_modes(FakeCamera("a"), None, memory)) == 2
