"""The port/speed/gain table (ophyd_pvcam/engine/camera/speedtable.py)."""
from __future__ import annotations


def test_bit_depth_follows_the_selected_gain(bsi):
    table = bsi.port_speed_gain_table()
    for speed in table["CMOS"]["speeds"]:
        bsi.speed_index = speed["index"]
        for gain in speed["gains"]:
            bsi.gain_index = gain["index"]
            assert bsi.bit_depth == gain["bit_depth"]


def test_port_speed_gain_table_matches_the_vendor_layout(kinetix):
    kinetix.readout_port = "Dynamic Range"
    table = kinetix.port_speed_gain_table()
    assert list(table) == ["Sensitivity", "Speed", "Dynamic Range", "Sub-Electron"]
    assert [table[p]["value"] for p in table] == [0, 1, 2, 3]
    speed_port = table["Speed"]["speeds"]
    assert len(speed_port) == 1
    assert speed_port[0]["pixel_time_ns"] == 5 and speed_port[0]["bit_depth"] == 8
    assert [(g["index"], g["name"], g["bit_depth"]) for g in speed_port[0]["gains"]] == \
        [(1, "Sensitivity", 8), (2, "Full Well", 8)]
    # The walk restored the selection.
    assert kinetix.readout_port == "Dynamic Range"


def test_port_speed_gain_table_of_a_two_speed_camera(bsi):
    bsi.speed_index = 1
    bsi.gain_index = 2
    speeds = bsi.port_speed_gain_table()["CMOS"]["speeds"]
    assert [s["name"] for s in speeds] == ["100 MHz", "200 MHz"]
    assert [g["name"] for g in speeds[0]["gains"]] == ["HDR", "CMS"]
    assert [g["bit_depth"] for g in speeds[1]["gains"]] == [11, 11, 11]
    assert (bsi.speed_index, bsi.gain_index) == (1, 2)
