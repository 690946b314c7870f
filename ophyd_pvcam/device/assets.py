"""The bluesky-facing half shared by the in-process and the remote detector.

:class:`AssetDetectorMixin` holds what
:class:`~ophyd_pvcam.device.detector.PVCAMDetector` and
:class:`~ophyd_pvcam.ioc.client.RemotePVCAMDetector` do alike, whoever
acquires the frames and wherever the file lives:

- staging bookkeeping: step or fly mode within one staging, the declared
  stream, the points read, the prepared fly length, ``frames_written`` /
  ``frames_lost`` reset at stage, the settings refused while staged, and
  file names that follow a RunEngine's runs;
- step scans: ``trigger`` (a trigger replayed after a pause reuses the
  unread point), ``read``, the image data key and, in stream mode, the
  per-frame metadata keys the writer documents (``describe``);
- documents: ``get_index`` (stream mode only), ``collect_asset_docs``;
- fly scans: ``prepare`` and ``kickoff`` (refused, naming
  :func:`ophyd_pvcam.plans.fly_stream`, when ``bluesky.plans.fly`` drives it).

A device mixes it in before :class:`ophyd.Device` and provides the hooks:
``_asset_writer`` (its :class:`~ophyd_pvcam.device.writer.AssetWriter`),
``_current_acquisition`` (the acquisition of this staging, with ``status``
and ``done``), ``_arm()``, ``_start(target)``, ``_open_file()``, ``_image_key(frames)``,
``_new_kickoff_status()`` and ``_finish_kickoff(kickoff_status, fly_status)``.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from ophyd.status import DeviceStatus, Status

from ophyd_pvcam.engine.errors import AcquisitionError, ValidationError

from . import signals as S
from .writer import PER_FRAME_KEYS, AssetWriter

__all__ = ["AssetDetectorMixin", "FLY_STREAM_HINT"]

#: What a refused ``kickoff`` tells the user (one line).
FLY_STREAM_HINT = ("use ophyd_pvcam.plans.fly_stream([{name}]) (bluesky.plans.fly neither "
                   "stages nor declares the stream)")


class AssetDetectorMixin:
    """Step/fly bookkeeping, asset documents and the image key of a PVCAM detector.

    Mixed in before :class:`ophyd.Device`; the subclass calls
    :meth:`_init_asset_state` in its ``__init__`` (after ``Device.__init__``)
    and provides the hooks listed in the module docstring.
    """

    #: Why settings are refused while staged (end of the refusal message).
    _staged_settings_reason = "the staging's file and documents are fixed"

    # -- hooks ------------------------------------------------------------------
    @property
    def _asset_writer(self) -> AssetWriter:
        """The writer that documents this staging's file."""
        raise NotImplementedError

    @property
    def _current_acquisition(self) -> Optional[Any]:
        """The current (or last) acquisition of this staging: ``.status`` and ``.done``."""
        raise NotImplementedError

    def _arm(self) -> None:
        """Arm the camera (under the lock); calls :meth:`_begin_staging`."""
        raise NotImplementedError

    def _start(self, target: Optional[int]) -> Status:
        """Start an acquisition of ``target`` frames (None: until finished)."""
        raise NotImplementedError

    def _open_file(self) -> None:
        """Open this staging's file unless it is open."""
        raise NotImplementedError

    def _image_key(self, frames_per_event: int) -> dict[str, Any]:
        """The image DataKey for ``frames_per_event`` frames per event."""
        raise NotImplementedError

    def _new_kickoff_status(self) -> DeviceStatus:
        """The status ``kickoff`` returns (created before the fly starts)."""
        raise NotImplementedError

    def _finish_kickoff(self, kickoff_status: DeviceStatus, fly_status: Status) -> None:
        """End ``kickoff_status`` once the fly acquires (or has already failed)."""
        raise NotImplementedError

    @property
    def _logger(self) -> logging.Logger:
        # The device's own module logger, so its messages keep their logger name.
        return logging.getLogger(type(self).__module__)

    # -- state ------------------------------------------------------------------
    def _init_asset_state(self, asset_docs: str) -> None:
        """Set the per-staging bookkeeping, the ``asset_docs`` mode and the staged-setting guards."""
        self._lock = threading.RLock()
        self._armed = False
        self._mode: Optional[str] = None           # "step" or "fly" within one staging
        self._declared = False                      # describe_collect() seen since stage
        self._points_read = 0
        self._prepared_length: Optional[int] = None
        self._run_uid: Optional[str] = None
        self._following_runs = False
        self.asset_docs.subscribe(self._asset_mode_changed, run=False)
        self.asset_docs.put(asset_docs)
        self._asset_mode_changed()
        for signal in (self.roi, self.binning, self.readout_port, self.speed_index,
                       self.gain_index, self.asset_docs):
            signal._guard = self._refuse_while_armed

    def follow_runs(self, run_engine: Any) -> int:
        """Name files after the RunEngine's runs (subscribe to its start/stop documents).

        Parameters
        ----------
        run_engine : bluesky.RunEngine

        Returns
        -------
        int
            The subscription token (``run_engine.unsubscribe(token)`` undoes it).
        """
        self._following_runs = True
        return run_engine.subscribe(self._on_document)

    def _on_document(self, name: str, doc: dict) -> None:
        if name == "start":
            self._run_uid = doc["uid"]
        elif name == "stop":
            self._run_uid = None

    def _refuse_while_armed(self, signal: Any, value: Any) -> None:
        if self._armed:
            raise ValidationError(
                f"cannot change {signal.name} while {self.name} is staged "
                f"({self._staged_settings_reason}); unstage first or put it in stage_sigs",
                None, getattr(signal, "attr_name", signal.name))

    def _asset_mode_changed(self, *args: Any, **kwargs: Any) -> None:
        # get_index() exists only in stream mode: bluesky treats a device with
        # get_index as a stream-asset writer and would ignore a legacy collect().
        if self.asset_docs.get() == "stream":
            self.get_index = self._get_index
        else:
            self.__dict__.pop("get_index", None)

    def record_per_frame(self, fields: Sequence[str] = PER_FRAME_KEYS) -> dict[str, str]:
        """Record per-frame metadata in the run as ``{name}_<field>`` (stream mode).

        Each field (e.g. ``lost_before``, ``frame_number``) is described as
        external data and documented like the image, from the file's
        ``/entry/instrument/pvcam/<field>``, so the catalog reads one value
        per frame. Legacy mode stays image only.

        Parameters
        ----------
        fields : sequence of str
            Names of :data:`~ophyd_pvcam.storage.layout.PER_FRAME_FIELDS`;
            empty to record the image alone (the default before this call).

        Returns
        -------
        dict
            Field -> data key.

        Raises
        ------
        ValidationError
            While staged.
        StorageError
            For an unknown field.
        """
        if self._armed:
            raise ValidationError(f"{self.name}: per-frame fields cannot change while staged",
                                  None, "record_per_frame")
        keys = {field: f"{self.name}_{field}" for field in fields}
        self._asset_writer.set_per_frame_keys(keys)
        return keys

    @property
    def file_path(self) -> Optional[Path]:
        """This staging's HDF5 file as this process reads it (the last one after unstage)."""
        return self._asset_writer.path

    # -- staging ----------------------------------------------------------------
    def stage(self) -> list[object]:
        """Apply ``stage_sigs``, arm the detector and open this staging's file.

        Returns
        -------
        list
            The staged devices (ophyd convention).
        """
        staged = super().stage()
        try:
            self._arm()
        except BaseException:
            self.unstage()
            raise
        return staged

    def _begin_staging(self) -> None:
        """Reset the per-staging bookkeeping and mark the detector armed (under the lock)."""
        self._mode, self._declared, self._points_read = None, False, 0
        self._prepared_length = None
        self.frames_lost.put(0)
        self.frames_written.put(0)
        self._armed = True

    def _open_file_unless_run_pending(self) -> None:
        # Following a RunEngine with no run open yet (count stages before it
        # opens the run): the first trigger/kickoff names the file after the run.
        if self._run_uid is not None or not self._following_runs:
            self._open_file()

    def _unstage_step(self, errors: list[BaseException], func: Callable[..., Any],
                      *args: Any) -> None:
        """Run one cleanup step of ``unstage``; log and keep its error for the end."""
        try:
            func(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised by unstage after cleanup
            self._logger.exception(
                "%s failed during unstage", getattr(func, "__name__", func))
            errors.append(exc)

    def _finish_unstage(self, errors: list[BaseException]) -> list[object]:
        """Restore the staged settings, then raise the first error of the cleanup."""
        # The staging's run is over for the detector, whether or not its stop
        # document arrived (another callback may have raised before ours ran):
        # the next staging must not reuse the run's file name.
        self._run_uid = None
        try:
            result = super().unstage()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after cleanup
            errors.append(exc)
            result = [self]
        if errors:
            raise errors[0]
        return result

    def _require_armed(self, what: str) -> None:
        if not self._armed:
            raise AcquisitionError(f"{self.name}.{what}() needs a staged detector "
                                   f"(bluesky stages it in count and fly_stream)", None, what)

    def _enter_mode(self, mode: str) -> None:
        if self._mode not in (None, mode):
            raise AcquisitionError(f"{self.name}: trigger() and kickoff() cannot be mixed within "
                                   f"one staging; unstage first", None, mode)
        self._mode = mode

    # -- step scans -------------------------------------------------------------
    def trigger(self) -> Status:
        """Acquire ``frames_per_trigger`` frames; done when they are in the file.

        A trigger replayed by the RunEngine after a pause, before the previous
        point was read, returns the previous point's status instead of
        acquiring again: the file only ever holds frames that belong to
        events.

        Returns
        -------
        FrameProgressStatus
            Fails with the engine's error (e.g. ``StallError``).
        """
        self._require_armed("trigger")
        self._enter_mode("step")
        writer = self._asset_writer
        with self._lock:
            previous = self._current_acquisition
            if previous is not None and (not previous.status.done or (
                    previous.status.success and writer.get_index() > self._points_read)):
                # The RunEngine replays a trigger after a pause; the point it
                # asks for is being (or was) acquired and has not been read.
                self._logger.info("%s: trigger before the last point was read; reusing it",
                                  self.name)
                return previous.status
            frames = self.frames_per_trigger.get()
            # Open first: opening a file (named after the run, at the first
            # trigger when following runs) resets the writer's document state.
            self._open_file()
            writer.set_frames_per_event(frames)
            return self._start(frames)

    def read(self) -> "OrderedDict[str, dict]":
        """Read the data signals (the image only as a datum id, in legacy mode).

        Returns
        -------
        OrderedDict
        """
        writer = self._asset_writer
        if self._armed and self._mode == "step":
            self._points_read = max(self._points_read, writer.get_index())
        self.frames_written.put(writer.frames_written)
        return super().read()

    def _describe_image(self) -> dict[str, Any]:
        frames = 1 if self._mode == "fly" else self.frames_per_trigger.get()
        return self._image_key(frames)

    def _per_frame_keys(self, frames_per_event: int) -> dict[str, Any]:
        """The DataKeys of the per-frame fields the writer documents (none in legacy mode)."""
        if self.asset_docs.get() != "stream":
            return {}
        source = self._image_key(frames_per_event)["source"]
        return self._asset_writer.per_frame_data_keys(source, frames_per_event)

    def describe(self) -> "OrderedDict[str, dict]":
        """Describe the data signals, the image and the per-frame fields documented with it.

        Returns
        -------
        OrderedDict
            The per-frame keys (stream mode only) are external, like the
            image: never in :meth:`read`, read back from the file.
        """
        description = super().describe()
        frames = 1 if self._mode == "fly" else self.frames_per_trigger.get()
        description.update(self._per_frame_keys(frames))
        return description

    # -- documents --------------------------------------------------------------
    def _get_index(self) -> int:
        """Number of complete events in the file (stream mode's ``get_index``).

        Returns
        -------
        int
        """
        return self._asset_writer.get_index() if self._armed else 0

    def collect_asset_docs(self, index: Optional[int] = None) -> Iterator[tuple[str, dict]]:
        """Yield the asset documents of frames not yet documented.

        Stream mode: ``stream_resource`` once, then one ``stream_datum`` per
        new range of events (up to ``index``). Legacy mode: ``resource``
        once, then the ``datum`` documents.

        Parameters
        ----------
        index : int, optional
            Stop at this event index (bluesky passes it when several devices
            are collected together).

        Yields
        ------
        tuple of (str, dict)
        """
        writer = self._asset_writer
        if self.asset_docs.get() == "stream":
            if self._mode == "step":
                # A step scan documents exactly the points read so far.
                index = self._points_read if index is None else min(index, self._points_read)
            yield from writer.collect_stream_docs(index)
        else:
            yield from writer.collect_legacy_docs(new_events=self._mode == "fly")

    # -- fly scans --------------------------------------------------------------
    def prepare(self, value: int) -> Status:
        """Set the number of frames of the next fly (this staging only).

        Parameters
        ----------
        value : int
            Frames; 0 runs until :meth:`complete`.

        Returns
        -------
        Status
            Failed with ``ValidationError`` for a bad value.
        """
        status = Status(self)
        try:
            self._prepared_length = S.non_negative_int("stream_length", S.STREAM_LENGTH_MAX)(value)
        except Exception as exc:  # noqa: BLE001 - reported through the status
            status.set_exception(exc)
        else:
            status.set_finished()
        return status

    def kickoff(self) -> Status:
        """Start streaming; done once the camera acquires.

        Raises
        ------
        AcquisitionError
            At once (before anything is acquired) when the detector is not
            staged, or, in stream mode, the stream was not declared: the
            message names :func:`ophyd_pvcam.plans.fly_stream`.

        Returns
        -------
        Status
        """
        hint = FLY_STREAM_HINT.format(name=self.name)
        if not self._armed:
            raise AcquisitionError(f"{self.name} is not staged: {hint}", None, "kickoff")
        if self.asset_docs.get() == "stream" and not self._declared:
            raise AcquisitionError(f"{self.name}'s stream was not declared: {hint}", None,
                                   "kickoff")
        self._enter_mode("fly")
        with self._lock:
            current = self._current_acquisition
            if current is not None and not current.done:
                raise AcquisitionError(f"{self.name} is already flying; complete() first",
                                       None, "kickoff")
            self._open_file()   # before set_frames_per_event: opening resets it
            self._asset_writer.set_frames_per_event(1)
            length = (self._prepared_length if self._prepared_length is not None
                      else self.stream_length.get())
            kickoff_status = self._new_kickoff_status()
            fly_status = self._start(length or None)
        self._finish_kickoff(kickoff_status, fly_status)
        return kickoff_status

    def _flying_acquisition(self) -> Any:
        """The fly that :meth:`complete` finishes; raises without a ``kickoff``."""
        acquisition = self._current_acquisition
        if self._mode != "fly" or acquisition is None:
            raise AcquisitionError(f"{self.name}.complete() without kickoff()", None, "complete")
        return acquisition
