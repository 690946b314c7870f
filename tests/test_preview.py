"""Tests of ophyd_pvcam/preview.py: PNG encoding, contrast limits and the throttled renderer."""
import struct
import threading
import zlib

import h5py
import numpy as np
import pytest

from ophyd_pvcam.preview import LivePreview, PreviewRenderer, contrast_limits, to_uint8, write_png


def decode_png(path):
    """Decode an 8-bit greyscale, filter-0 PNG with the standard library, checking every CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        payload = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
        chunks.setdefault(kind, b"")
        chunks[kind] += payload
        pos += 12 + length
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 0)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(height, width + 1)
    assert not raw[:, 0].any()
    return raw[:, 1:]


def test_write_png_round_trips_scaled_pixels(tmp_path):
    frame = np.arange(12 * 20, dtype=np.uint16).reshape(12, 20)
    path = write_png(frame, tmp_path / "sub" / "f.png", limits=(0, 239))
    pixels = decode_png(path)
    assert pixels.shape == (12, 20)
    np.testing.assert_array_equal(pixels, to_uint8(frame, (0, 239)))
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 255


def test_contrast_limits_ignore_hot_pixels_and_survive_flat_images():
    rng = np.random.default_rng(1)
    frame = rng.normal(100, 5, size=(256, 256)).astype(np.uint16)
    frame[10, 10] = 65535
    vmin, vmax = contrast_limits(frame)
    assert 70 < vmin < 100 < vmax < 130
    flat = np.full((8, 8), 7, dtype=np.uint16)
    assert contrast_limits(flat) == (7.0, 8.0)
    with pytest.raises(ValueError):
        contrast_limits(frame, 50, 10)


def test_renderer_offer_never_blocks_and_renders_only_the_latest(tmp_path):
    renderer = PreviewRenderer(tmp_path, max_rate=1000, interactive=False)
    release = threading.Event()
    rendering = threading.Event()

    def slow_frame():
        rendering.set()
        release.wait(5)
        return np.full((4, 4), 9, dtype=np.uint16)

    renderer.start()
    renderer.offer(slow_frame, frame_number=1)
    assert rendering.wait(5)
    # While frame 1 renders, many offers replace each other without waiting.
    for number in range(2, 200):
        renderer.offer(np.full((4, 4), number, dtype=np.uint16), frame_number=number)
    release.set()
    renderer.stop()
    assert 2 <= renderer.rendered < 10
    assert renderer.last_path == tmp_path / "latest.png"
    assert decode_png(renderer.last_path).shape == (4, 4)


def test_headless_renderer_requires_an_output_folder():
    with pytest.raises(ValueError, match="output folder"):
        PreviewRenderer(None, interactive=False)


def test_live_preview_reads_the_newest_frame_named_by_stream_documents(tmp_path):
    path = tmp_path / "run.h5"
    frames = np.stack([np.full((6, 8), 100 * (i + 1), dtype=np.uint16) for i in range(3)])
    frames[2, 0, 0] = 0  # gives the last frame some contrast
    with h5py.File(path, "w", libver="latest") as handle:
        handle.create_dataset("/entry/data/data", data=frames, maxshape=(None, 6, 8), chunks=(1, 6, 8))
    preview = LivePreview(output=tmp_path / "png", max_rate=100, interactive=False)
    preview("start", {"uid": "run"})
    preview("stream_resource", {"uid": "sr", "data_key": "cam_image",
                                "uri": f"file://localhost{path}", "parameters": {"dataset": "/entry/data/data"}})
    preview("stream_datum", {"stream_resource": "sr", "indices": {"start": 0, "stop": 3}})
    preview("stop", {"exit_status": "success"})
    pixels = decode_png(tmp_path / "png" / "latest.png")
    assert pixels[0, 0] == 0 and pixels[3, 3] == 255


def test_live_preview_subscribed_to_a_run_engine_renders_the_last_frame_of_a_fly_scan(tmp_path):
    from bluesky import RunEngine

    from ophyd_pvcam.device.detector import PVCAMDetector
    from ophyd_pvcam.plans import fly_stream

    run_engine = RunEngine({})
    preview = LivePreview(output=tmp_path / "png", max_rate=50, interactive=False)
    run_engine.subscribe(preview)
    cam = PVCAMDetector("cam", write_path=tmp_path / "frames", library="sim")
    try:
        cam.roi.set((0, 0, 96, 48)).wait(10)
        cam.exposure_time.set(0.001).wait(10)
        run_engine(fly_stream([cam], num_frames=30))
    finally:
        cam.close()
    pixels = decode_png(tmp_path / "png" / "latest.png")
    assert pixels.shape == (48, 96)
    assert preview.renderer.rendered >= 1


def test_live_preview_ignores_per_frame_metadata_resources(tmp_path):
    preview = LivePreview(output=tmp_path / "png", max_rate=100, interactive=False)
    preview("start", {"uid": "run"})
    preview("stream_resource", {"uid": "meta", "data_key": "cam_lost_before",
                                "uri": "file://localhost/nonexistent.h5",
                                "parameters": {"dataset": "/entry/instrument/pvcam/lost_before"}})
    preview("stream_datum", {"stream_resource": "meta", "indices": {"start": 0, "stop": 3}})
    preview("stop", {"exit_status": "success"})
    assert preview.renderer.rendered == 0
