"""``ophyd-pvcam stream``: stream N frames to HDF5 with a live progress line.

The progress line shows frames done / target, rate, lost frames and the
stall counter; a stall ends the command with exit status 3 and the engine's
diagnosis. Every frame delivered before a failure is in the file.

Before the camera starts, the pre-flight budget of the run is printed
("loss-free for N frames / T s", with a remedy when the run does not fit;
:func:`ophyd_pvcam.device.losspolicy.predict_run`); ``--refuse-predicted-loss``
(``--on-predicted-loss refuse``) refuses such a run instead (exit status 1).
Frames lost end the command with exit status 4 and one line saying how many;
``--on-loss fail`` stops the stream at the first lost frame.
"""
from __future__ import annotations

import argparse
import datetime
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from ophyd_pvcam.cli.exitcodes import EXIT_FRAMES_LOST
from ophyd_pvcam.cli.options import (add_acquisition_options, apply_acquisition_options,
                                     check_output, human_bytes, open_camera, positive_int,
                                     remove_for_overwrite)

# Redraw the progress line at most this often, so printing never costs frames.
_PROGRESS_PERIOD = 0.2



def register(commands: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``stream`` command to ``commands``."""
    parser = commands.add_parser("stream", help="stream frames to HDF5 with progress, loss and stall counters")
    parser.add_argument("--frames", "-n", type=positive_int, required=True, metavar="N",
                        help="number of frames to acquire")
    parser.add_argument("--camera", help="camera name (default: the first camera)")
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="HDF5 file (default: stream_<camera>_<time>.h5 in the current folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file (default: refuse)")
    parser.add_argument("--compression", choices=("none", "bitshuffle-lz4", "blosc"), default="none",
                        help="HDF5 compression (default none)")
    parser.add_argument("--stall-timeout", type=float, metavar="SECONDS",
                        help="seconds without a frame that count as one timeout "
                             "(default max(2 s, 10 frame periods))")
    parser.add_argument("--stall-count", type=positive_int, default=3, metavar="N",
                        help="consecutive timeouts that make a stall (default 3)")
    parser.add_argument("--buffer-mode", choices=("auto", "overwrite", "no_overwrite"), default="auto",
                        help="SDK circular buffer mode (default auto: overwrite, else no_overwrite)")
    parser.add_argument("--polling", action="store_true", help="poll the SDK instead of using EOF callbacks")
    parser.add_argument("--on-predicted-loss", choices=("warn", "refuse"), default="warn",
                        help="when the pre-flight budget predicts lost frames: print the "
                             "prediction and stream anyway (warn, default) or refuse")
    parser.add_argument("--refuse-predicted-loss", dest="on_predicted_loss", action="store_const",
                        const="refuse", help="same as --on-predicted-loss refuse")
    parser.add_argument("--on-loss", choices=("record", "fail"), default="record",
                        help="a lost frame: count it and go on (record, default) or stop the "
                             "stream (fail); either way lost frames make the exit status 4")
    parser.add_argument("--preview", nargs="?", const="preview", metavar="DIR",
                        help="show the latest frame (a window when a display exists, else PNGs in DIR)")
    add_acquisition_options(parser)
    add_common(parser)
    parser.set_defaults(handler=run)


class ProgressLine:
    """A single, rewritten terminal line: frames, rate, lost, stalls.

    Parameters
    ----------
    target : int
        Frames expected.
    out : file-like
        Where to draw (stderr by default).
    """

    def __init__(self, target: int, out: Optional[TextIO] = None):
        self.target = target
        self.out = out if out is not None else sys.stderr
        self.started = time.monotonic()
        self._last_draw = 0.0
        # A log record written while the line is open would be glued to its end: the
        # handlers writing where the line is drawn write through _LineEndingStream,
        # which ends the line first. One lock orders drawing and logging (the
        # engine's threads log while the main thread draws).
        self._open = False
        self._lock = threading.Lock()
        self._handlers = [h for h in logging.getLogger().handlers
                          if _same_stream(getattr(h, "stream", None), self.out)]
        for handler in self._handlers:
            handler.setStream(_LineEndingStream(self))

    def _write_record(self, text: str) -> None:
        with self._lock:
            if self._open:
                self.out.write("\n")
                self._open = False
            self.out.write(text)

    def update(self, done: int, lost: int, timeouts: int, force: bool = False) -> None:
        """Redraw if the last redraw is older than the redraw period (or ``force``)."""
        now = time.monotonic()
        if not force and now - self._last_draw < _PROGRESS_PERIOD:
            return
        self._last_draw = now
        elapsed = max(now - self.started, 1e-9)
        width = 30
        filled = int(width * done / self.target) if self.target else width
        bar = "#" * filled + "-" * (width - filled)
        with self._lock:
            self.out.write(f"\r[{bar}] {done}/{self.target} frames  {done / elapsed:8.1f} fps  "
                           f"lost {lost}  stall timeouts {timeouts}")
            self.out.flush()
            self._open = True

    def finish(self) -> None:
        """End the line."""
        for handler in self._handlers:
            handler.setStream(self.out)
        with self._lock:
            self.out.write("\n")
            self.out.flush()
            self._open = False


def _same_stream(a: Any, b: Any) -> bool:
    """Whether two text streams write to the same file (a wrapper such as colorama's counts)."""
    if a is None or b is None:
        return False
    if a is b:
        return True
    try:
        return a.fileno() == b.fileno()
    except (AttributeError, OSError, ValueError):   # not backed by a file: only identity
        return False


class _LineEndingStream:
    """What log handlers write to while a progress line is drawn (see ``_Progress``)."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress

    def write(self, text: str) -> None:
        self._progress._write_record(text)

    def flush(self) -> None:
        self._progress.out.flush()


def run(args: argparse.Namespace) -> int:
    """Stream ``--frames`` frames into an HDF5 file; exit 3 on a stall, 4 when frames were lost."""
    from ophyd_pvcam.device.losspolicy import note_run, predict_run
    from ophyd_pvcam.engine import Stream
    from ophyd_pvcam.engine.errors import FramesLostError, PredictedLossError
    from ophyd_pvcam.storage.hdf5 import HDF5FrameWriter

    # Everything the user typed is validated before the camera moves.
    if args.stall_timeout is not None and not args.stall_timeout > 0:
        raise ValueError(f"--stall-timeout must be positive, got {args.stall_timeout}")
    if args.output:
        check_output(Path(args.output), overwrite=args.overwrite)
    with open_camera(args.camera) as camera:
        apply_acquisition_options(camera, args)
        settings = camera.acquisition_settings()
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        output = Path(args.output) if args.output else Path(f"stream_{camera.name}_{stamp}.h5")
        size = args.frames * settings.frame_bytes
        # Uncompressed size: an upper bound with compression.
        output = check_output(output, overwrite=args.overwrite, needed_bytes=size)
        print(f"streaming {args.frames} frames of {settings.frame_shape[1]} x {settings.frame_shape[0]} "
              f"{settings.dtype} ({human_bytes(size)}{' before compression' if args.compression != 'none' else ''}) "
              f"to {output}", flush=True)
        prediction = predict_run(settings, args.frames, output.absolute().parent)
        print(f"pre-flight: {prediction}")
        if not prediction.fits and args.on_predicted_loss == "refuse":
            raise PredictedLossError(f"{prediction} (--refuse-predicted-loss)", prediction,
                                     "stream")
        if args.overwrite:
            remove_for_overwrite(output)
        stream = Stream(camera, buffer_mode=args.buffer_mode, use_callbacks=not args.polling,
                        stall_timeout=args.stall_timeout, stall_count=args.stall_count,
                        max_frames=args.frames)
        writer = HDF5FrameWriter(output, settings.frame_shape, settings.dtype,
                                 compression=None if args.compression == "none" else args.compression,
                                 attributes={"camera": camera.name, "model": camera.info.product,
                                             "exposure_time": settings.exposure_seconds})
        renderer = None
        if args.preview:
            from ophyd_pvcam.preview import PreviewRenderer

            renderer = PreviewRenderer(args.preview, max_rate=2.0).start()
        progress = ProgressLine(args.frames)
        writer.start()
        failure: Optional[BaseException] = None
        try:
            stream.start()
            for frame in stream:
                writer.submit(frame)
                if frame.lost_before and args.on_loss == "fail":
                    first = frame.frame_number - frame.lost_before
                    raise FramesLostError(
                        f"{frame.lost_before} frame(s) lost before FrameNr {frame.frame_number} "
                        f"(the first was FrameNr {first}); --on-loss fail stopped the stream; "
                        f"the frames captured are in {output}", int(frame.lost_before),
                        int(first), frame.index + 1, "stream")
                if renderer is not None:
                    renderer.offer(frame.data, frame.frame_number, frame.index / max(
                        time.monotonic() - progress.started, 1e-9))
                stats = stream.stats()
                progress.update(stats.frames_delivered, stats.frames_lost, _timeouts(stream))
        except BaseException as exc:  # re-raised below, after the file is closed
            failure = exc
        finally:
            stream.stop()
            written = writer.close()
            if renderer is not None:
                renderer.stop()
            stats = stream.stats()
            progress.update(stats.frames_delivered, stats.frames_lost, _timeouts(stream), force=True)
            progress.finish()
            note_run(output.absolute().parent, stats)
        print(f"{output}: {written} frames written; {stats.summary()}")
        if failure is not None:
            raise failure
        if stats.frames_lost:
            print(f"ophyd-pvcam stream: {stats.frames_lost} frame(s) lost (counted in the file's "
                  f"lost_before); {written} written", file=sys.stderr)
            return EXIT_FRAMES_LOST
    return 0


def _timeouts(stream: Any) -> int:
    """Stall timeouts seen so far: recoveries made plus the current run of timeouts."""
    stats = stream.stats()
    return int(stats.recoveries) + int(stats.consecutive_timeouts)
