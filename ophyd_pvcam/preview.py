"""Live preview: the latest frame with contrast limits and frame rate, never slowing acquisition.

Two entry points share one renderer:

:class:`PreviewRenderer`
    Takes frames offered from any thread (a non-blocking "latest frame" slot:
    an offer replaces the previous one and never waits), and renders at most
    ``max_rate`` times a second on its own thread: into a matplotlib window
    when one can be shown, else as PNG files (headless runs).
:class:`LivePreview`
    A bluesky callback. It follows a run's StreamResource/StreamDatum (or
    Resource/Datum) documents, reads the newest frame from the HDF5 file on the
    renderer's thread, and so works for in-process and remote (IOC) cameras
    alike, as long as the file is visible here.

PNG encoding uses only :mod:`zlib`, so previews need no imaging library.
"""
from __future__ import annotations

import logging
import os
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

__all__ = ["contrast_limits", "to_uint8", "write_png", "PreviewRenderer", "LivePreview"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

# Percentile contrast on a strided subsample: a 2048x2048 frame then costs
# ~65k samples, which keeps rendering far below a frame period.
_SUBSAMPLE_TARGET = 65536


def contrast_limits(frame: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Return display limits from the ``low`` and ``high`` percentiles of ``frame``.

    Parameters
    ----------
    frame : numpy.ndarray
        A 2-D image.
    low, high : float
        Percentiles (0-100) mapped to black and white.

    Returns
    -------
    tuple of float
        ``(vmin, vmax)`` with ``vmax > vmin`` even for a flat image.
    """
    if not 0 <= low < high <= 100:
        raise ValueError(f"need 0 <= low < high <= 100, got low={low}, high={high}")
    step = max(1, int(np.sqrt(frame.size / _SUBSAMPLE_TARGET)))
    sample = np.asarray(frame[::step, ::step], dtype=np.float64)
    vmin, vmax = np.percentile(sample, [low, high])
    if vmax <= vmin:
        vmax = vmin + 1.0
    return float(vmin), float(vmax)


def to_uint8(frame: np.ndarray, limits: Optional[tuple[float, float]] = None) -> np.ndarray:
    """Scale ``frame`` linearly between ``limits`` to 8-bit grey levels.

    Parameters
    ----------
    frame : numpy.ndarray
        A 2-D image of any numeric dtype.
    limits : tuple of float, optional
        ``(vmin, vmax)``; computed by :func:`contrast_limits` when omitted.

    Returns
    -------
    numpy.ndarray
        ``uint8`` image of the same shape.
    """
    vmin, vmax = limits if limits is not None else contrast_limits(frame)
    scaled = (np.asarray(frame, dtype=np.float32) - vmin) * (255.0 / (vmax - vmin))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(frame: np.ndarray, path: PathLike, limits: Optional[tuple[float, float]] = None) -> Path:
    """Write ``frame`` as an 8-bit greyscale PNG with contrast ``limits``.

    Parameters
    ----------
    frame : numpy.ndarray
        A 2-D image.
    path : str or os.PathLike
        Destination; parent folders are created. Written atomically (a
        temporary file renamed into place) so viewers never see half a file.
    limits : tuple of float, optional
        Display limits; percentile limits when omitted.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    image = np.ascontiguousarray(to_uint8(frame, limits))
    if image.ndim != 2:
        raise ValueError(f"write_png needs a 2-D image, got shape {image.shape}")
    height, width = image.shape
    # Each PNG scanline starts with its filter type (0 = none).
    raw = np.empty((height, width + 1), dtype=np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = image
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + _png_chunk(b"IEND", b""))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


class PreviewRenderer:
    """Render the latest offered frame at a bounded rate on a named thread.

    Parameters
    ----------
    output : str or os.PathLike, optional
        Folder for PNG previews (``latest.png`` is rewritten each time, and
        with ``keep_history`` also ``frame_<N>.png``). Required when no window
        can be shown.
    max_rate : float
        Renders per second at most (default 2).
    interactive : bool or None
        ``True`` draws into a matplotlib window, ``False`` writes PNGs,
        ``None`` (default) picks a window only when a display is available.
    keep_history : bool
        Also keep one PNG per rendered frame.

    Notes
    -----
    :meth:`offer` never blocks and never renders: it swaps a reference under a
    lock, so calling it from an acquisition loop costs microseconds.
    """

    def __init__(self, output: Optional[PathLike] = None, max_rate: float = 2.0,
                 interactive: Optional[bool] = None, keep_history: bool = False):
        if max_rate <= 0:
            raise ValueError(f"max_rate must be positive, got {max_rate}")
        if interactive is None:
            interactive = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if not interactive and output is None:
            raise ValueError("a headless preview needs an output folder for its PNG files")
        self.output = Path(output) if output is not None else None
        self.max_rate = float(max_rate)
        self.interactive = interactive
        self.keep_history = keep_history
        self.rendered = 0
        self.last_path: Optional[Path] = None
        self._latest: Optional[tuple[Any, int, float]] = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._figure: Any = None
        self._error: Optional[BaseException] = None

    def start(self) -> "PreviewRenderer":
        """Start the rendering thread (idempotent); returns ``self``."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pvcam-preview", daemon=True)
            self._thread.start()
        return self

    def offer(self, frame: Union[np.ndarray, Callable[[], Optional[np.ndarray]]],
              frame_number: int = 0, rate: float = 0.0) -> None:
        """Make ``frame`` the one to show next, replacing any not yet shown.

        Parameters
        ----------
        frame : numpy.ndarray or callable
            The image, or a zero-argument callable that produces it on the
            renderer's thread (used to defer file reads off the caller).
        frame_number : int
            Shown in the title / recorded with the PNG.
        rate : float
            Current frame rate in frames per second, shown in the title.
        """
        with self._lock:
            self._latest = (frame, int(frame_number), float(rate))
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Render what is pending, stop the thread and join it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def render_now(self) -> Optional[Path]:
        """Render the pending frame on the calling thread (used by tests and at stop)."""
        with self._lock:
            pending, self._latest = self._latest, None
        if pending is None:
            return None
        frame, frame_number, rate = pending
        image = frame() if callable(frame) else frame
        if image is None:
            return None
        image = np.asarray(image)
        while image.ndim > 2:  # (1, H, W) stacks from frames_per_trigger > 1
            image = image[-1]
        limits = contrast_limits(image)
        self.rendered += 1
        if self.interactive:
            self._draw(image, limits, frame_number, rate)
            return None
        assert self.output is not None
        self.last_path = write_png(image, self.output / "latest.png", limits)
        if self.keep_history:
            write_png(image, self.output / f"frame_{frame_number:08d}.png", limits)
        logger.debug("preview frame %d (%.1f fps) -> %s", frame_number, rate, self.last_path)
        return self.last_path

    def _draw(self, image: np.ndarray, limits: tuple[float, float], frame_number: int,
              rate: float) -> None:
        import matplotlib.pyplot as plt

        if self._figure is None:
            self._figure, axes = plt.subplots()
            self._artist = axes.imshow(image, cmap="gray", vmin=limits[0], vmax=limits[1])
            self._axes = axes
            plt.show(block=False)
        else:
            self._artist.set_data(image)
            self._artist.set_clim(*limits)
        self._axes.set_title(f"frame {frame_number}  {rate:.1f} fps  [{limits[0]:.0f}, {limits[1]:.0f}]")
        self._figure.canvas.draw_idle()
        self._figure.canvas.flush_events()

    def _run(self) -> None:
        period = 1.0 / self.max_rate
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            try:
                self.render_now()
            except Exception as exc:  # kept and re-raised by stop(): a preview must not kill acquisition
                logger.exception("preview rendering failed")
                self._error = exc
                return
            remaining = period - (time.monotonic() - started)
            if remaining > 0:
                self._stop.wait(remaining)
        self.render_now()


class LivePreview:
    """A bluesky callback that previews the newest frame of each run.

    Subscribe it with ``RE.subscribe(LivePreview(output="previews"))``. It
    reads frames from the HDF5 files named by the run's asset documents, on the
    renderer's thread, at most ``max_rate`` times a second.

    Parameters
    ----------
    output : str or os.PathLike, optional
        Folder for PNG previews in headless runs.
    max_rate : float
        Renders per second at most.
    interactive : bool or None
        See :class:`PreviewRenderer`.
    data_key : str, optional
        Only preview this data key (default: every ``*_image`` key, the
        detectors' frames; per-frame metadata keys are never previewed).
    """

    def __init__(self, output: Optional[PathLike] = None, max_rate: float = 2.0,
                 interactive: Optional[bool] = None, data_key: Optional[str] = None):
        self.renderer = PreviewRenderer(output, max_rate=max_rate, interactive=interactive)
        self.data_key = data_key
        self._files: dict[str, tuple[str, str]] = {}
        self._count = 0
        self._started_at = 0.0

    def __call__(self, name: str, doc: dict) -> None:
        """Receive one bluesky document."""
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(doc)

    def _on_start(self, doc: dict) -> None:
        self._files.clear()
        self._count = 0
        self._started_at = time.monotonic()
        self.renderer.start()

    def _on_stream_resource(self, doc: dict) -> None:
        key = doc.get("data_key", "")
        if self.data_key is not None and key != self.data_key:
            return
        if self.data_key is None and not key.endswith("_image"):
            return  # per-frame metadata (frame numbers, losses) share the run: not images
        uri = doc.get("uri", "")
        path = uri[len("file://localhost"):] if uri.startswith("file://localhost") else uri
        dataset = doc.get("parameters", {}).get("dataset", "/entry/data/data")
        self._files[doc["uid"]] = (path, dataset)

    def _on_resource(self, doc: dict) -> None:
        path = os.path.join(doc.get("root", ""), doc.get("resource_path", ""))
        dataset = doc.get("resource_kwargs", {}).get("dataset", "/entry/data/data")
        self._files[doc["uid"]] = (path, dataset)

    def _on_stream_datum(self, doc: dict) -> None:
        source = self._files.get(doc.get("stream_resource"))
        if source is None:
            return
        stop = int(doc["indices"]["stop"])
        self._offer(source, stop - 1, stop)

    def _on_datum(self, doc: dict) -> None:
        source = self._files.get(doc.get("resource"))
        if source is None:
            return
        index = int(doc.get("datum_kwargs", {}).get("point_number", 0))
        self._offer(source, index, index + 1)

    def _offer(self, source: tuple[str, str], index: int, count: int) -> None:
        self._count = max(self._count, count)
        elapsed = time.monotonic() - self._started_at
        rate = self._count / elapsed if elapsed > 0 else 0.0
        path, dataset = source
        self.renderer.offer(lambda: _read_frame(path, dataset, index), frame_number=index + 1, rate=rate)

    def _on_stop(self, doc: dict) -> None:
        self.renderer.stop()


def _read_frame(path: str, dataset: str, index: int) -> Optional[np.ndarray]:
    import h5py

    with h5py.File(path, "r", swmr=True) as handle:
        data = handle[dataset]
        data.refresh()
        if index >= data.shape[0]:
            return None
        return data[index]
