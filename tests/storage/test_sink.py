"""The sink rate: configured by PVCAM_SINK_RATE, or measured once per filesystem and cached."""
from __future__ import annotations

import json
import time

import pytest

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.storage import sink
from ophyd_pvcam.storage.sink import (CACHE_MAX_AGE_S, OBSERVED_MAX_AGE_S, SINK_RATE_ENV,
                                      SinkRate, cache_path, configured_sink_rate,
                                      existing_directory, filesystem_root, forget_sink_rates,
                                      free_disk_bytes, measure_write_rate, note_frame_path_rate,
                                      observed_frame_path_rate, parse_rate, sink_rate)

MIB = 1024 ** 2


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No configured rate, a private data directory and no measurement known to this process."""
    monkeypatch.delenv(SINK_RATE_ENV, raising=False)
    monkeypatch.setenv("PVCAM_DATA_DIR", str(tmp_path / "data"))
    forget_sink_rates()
    yield
    forget_sink_rates()


@pytest.mark.parametrize("text, expected", [("400M", 400 * MIB), ("1.5GB/s", 1.5 * 1024 ** 3),
                                            ("250e6", 250e6), ("512 KiB/s", 512 * 1024),
                                            ("100000000", 1e8)])
def test_rates_parse_to_bytes_per_second(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["fast", "0", "-5M", "1.5 parsecs"])
def test_bad_rates_are_refused_naming_the_variable(text):
    with pytest.raises(ValidationError, match=SINK_RATE_ENV):
        parse_rate(text)


def test_the_configured_rate_wins_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv(SINK_RATE_ENV, "100M")
    rate = sink_rate(tmp_path / "frames")
    assert rate == SinkRate(100 * MIB, SINK_RATE_ENV)
    assert configured_sink_rate() == rate
    assert str(rate) == "100.0 MiB/s (PVCAM_SINK_RATE)"
    assert list(tmp_path.iterdir()) == []   # not even the data directory


def test_a_measurement_writes_a_bounded_temporary_file_and_removes_it(tmp_path):
    rate = measure_write_rate(tmp_path, size=8 * MIB)
    assert rate > 0
    assert list(tmp_path.iterdir()) == []


def test_the_first_lookup_measures_then_memory_and_the_cache_file_answer(tmp_path, monkeypatch):
    destination = tmp_path / "frames" / "2026" / "12" / "03"      # not created yet
    monkeypatch.setattr(sink, "MEASURE_BYTES", 8 * MIB)
    first = sink_rate(destination)
    assert first.source == "measured" and first.bytes_per_s > 0
    assert first.directory == tmp_path and not destination.exists()
    assert sink_rate(tmp_path) is first                  # the same filesystem, this process
    cached = json.loads(cache_path().read_text())
    entry = cached[str(filesystem_root(tmp_path))]
    assert entry["bytes_per_s"] == first.bytes_per_s
    forget_sink_rates()
    again = sink_rate(destination)                       # a new process would read the file
    assert again.source == "cached" and again.bytes_per_s == first.bytes_per_s
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pvcam-sink")] == []


def test_a_cached_rate_is_used_without_measuring_until_it_is_stale(tmp_path):
    key = str(filesystem_root(tmp_path))
    cache_path().parent.mkdir(parents=True)
    cache_path().write_text(json.dumps({key: {"bytes_per_s": 12345.0,
                                              "measured_at": time.time() - 60,
                                              "directory": str(tmp_path)}}))
    assert sink_rate(tmp_path).bytes_per_s == 12345.0
    forget_sink_rates()
    cache_path().write_text(json.dumps({key: {"bytes_per_s": 12345.0,
                                              "measured_at": time.time() - CACHE_MAX_AGE_S - 1,
                                              "directory": str(tmp_path)}}))
    fresh = sink_rate(tmp_path)
    assert fresh.source == "measured" and fresh.bytes_per_s != 12345.0


def test_refresh_measures_again(tmp_path, monkeypatch):
    monkeypatch.setattr(sink, "MEASURE_BYTES", 4 * MIB)
    first = sink_rate(tmp_path)
    second = sink_rate(tmp_path, refresh=True)
    assert second is not first and second.source == "measured"


def test_an_unreadable_cache_file_is_ignored(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(sink, "MEASURE_BYTES", 4 * MIB)
    cache_path().parent.mkdir(parents=True)
    cache_path().write_text("{not json")
    assert sink_rate(tmp_path).source == "measured"
    assert "unreadable sink-rate cache" in caplog.text
    assert json.loads(cache_path().read_text())   # rewritten with the new measurement


def test_paths_that_do_not_exist_yet_resolve_to_their_nearest_existing_parent(tmp_path):
    assert existing_directory(tmp_path / "a" / "b") == tmp_path
    assert free_disk_bytes(tmp_path / "a") > 0
    assert filesystem_root(tmp_path / "a") == filesystem_root(tmp_path)


def _known_disk(tmp_path, bytes_per_s=1e12):
    """A cached disk measurement, so no test below measures."""
    cache_path().parent.mkdir(parents=True, exist_ok=True)
    cache_path().write_text(json.dumps({str(filesystem_root(tmp_path)): {
        "bytes_per_s": bytes_per_s, "measured_at": time.time(), "directory": str(tmp_path)}}))


def test_a_run_that_fell_behind_caps_later_rates_of_its_frame_size(tmp_path):
    _known_disk(tmp_path)
    frame = 8 * MIB
    note_frame_path_rate(tmp_path, frame, 184 * MIB, host_lost=267)
    capped = sink_rate(tmp_path, frame_bytes=frame)
    assert capped.source == "observed" and capped.bytes_per_s == 184 * MIB
    assert "observed" in str(capped)
    assert sink_rate(tmp_path, frame_bytes=frame // 64).bytes_per_s == 1e12   # other sizes
    assert sink_rate(tmp_path).bytes_per_s == 1e12                           # the disk itself
    forget_sink_rates()                                                       # a new process
    assert observed_frame_path_rate(frame).bytes_per_s == 184 * MIB


def test_a_faster_loss_free_run_forgets_the_observation(tmp_path):
    _known_disk(tmp_path)
    note_frame_path_rate(tmp_path, 8 * MIB, 184 * MIB, host_lost=3)
    note_frame_path_rate(tmp_path, 8 * MIB, 100 * MIB, host_lost=0)   # slower: says nothing
    assert observed_frame_path_rate(8 * MIB) is not None
    note_frame_path_rate(tmp_path, 8 * MIB, 372 * MIB, host_lost=0)
    assert observed_frame_path_rate(8 * MIB) is None
    forget_sink_rates()
    assert observed_frame_path_rate(8 * MIB) is None                   # gone from the file too


def test_an_old_observation_is_forgotten(tmp_path):
    key = "frame-path:" + str((8 * MIB).bit_length())
    cache_path().parent.mkdir(parents=True)
    cache_path().write_text(json.dumps({key: {"bytes_per_s": 1e6, "directory": str(tmp_path),
                                              "measured_at": time.time() - OBSERVED_MAX_AGE_S - 5}}))
    assert observed_frame_path_rate(8 * MIB) is None


def test_nothing_is_observed_while_the_rate_is_configured(tmp_path, monkeypatch):
    monkeypatch.setenv(SINK_RATE_ENV, "1G")
    note_frame_path_rate(tmp_path, 8 * MIB, 184 * MIB, host_lost=267)
    assert not cache_path().exists()
    assert sink_rate(tmp_path, frame_bytes=8 * MIB).source == SINK_RATE_ENV
