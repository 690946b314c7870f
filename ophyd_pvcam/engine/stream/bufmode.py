"""Choosing the circular-buffer mode, with a fallback that never re-registers a callback.

PyVCAM and Micro-Manager stream in ``CIRC_OVERWRITE``; acquire-driver-pvcam
uses ``CIRC_NO_OVERWRITE``. The field report describes a camera that accepted
``pl_exp_setup_cont(CIRC_OVERWRITE)`` and then refused ``pl_exp_start_cont``
with error 185. :func:`setup_and_start` therefore tries the preferred mode,
and when the camera refuses it (185 from start, or a mode/value error from
setup) re-runs setup + start with the other mode. The refusal is logged once
and remembered per camera in :data:`REJECTED_MODES`, so later streams go
straight to the mode that works. Callbacks are not touched here: the stream
registers its EOF callback once, before the first setup, and the fallback
only repeats setup and start (the field report's corruption came from
registering a second time).
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional, Sequence, Union

from ophyd_pvcam.engine.errors import ValidationError
from ophyd_pvcam.sdk import constants as C
from ophyd_pvcam.sdk.errors import SDKError

__all__ = [
    "BUFFER_MODE_NAMES",
    "REJECTED_MODES",
    "RejectedModes",
    "mode_name",
    "parse_buffer_mode",
    "candidate_modes",
    "setup_and_start",
]

logger = logging.getLogger(__name__)

#: Accepted spellings of the ``buffer_mode`` option -> SDK mode (None = automatic).
BUFFER_MODE_NAMES: dict[str, Optional[int]] = {
    "auto": None,
    "overwrite": int(C.CIRC_OVERWRITE),
    "no_overwrite": int(C.CIRC_NO_OVERWRITE),
}

# Errors that mean "this camera does not take this buffer mode" rather than
# "this setup is wrong": 185 from start_cont (the field report), and from
# setup_cont 183 (mode invalid), 164 (value invalid) or 185.
_START_REJECTIONS = frozenset({185})
_SETUP_REJECTIONS = frozenset({164, 183, 185})


def mode_name(mode: Optional[int]) -> str:
    """Return ``"CIRC_OVERWRITE"`` / ``"CIRC_NO_OVERWRITE"`` for an SDK mode value.

    Parameters
    ----------
    mode : int or None

    Returns
    -------
    str
        ``""`` for None, ``"CIRC_<n>"`` for unknown values.
    """
    if mode is None:
        return ""
    try:
        return C.CircMode(int(mode)).name
    except ValueError:
        return f"CIRC_{int(mode)}"


def parse_buffer_mode(value: Union[str, int, None]) -> Optional[int]:
    """Validate the ``buffer_mode`` option.

    Parameters
    ----------
    value : str, int or None
        ``"auto"`` (or None), ``"overwrite"``, ``"no_overwrite"``, or an SDK
        ``CIRC_OVERWRITE`` / ``CIRC_NO_OVERWRITE`` value.

    Returns
    -------
    int or None
        The forced SDK mode, None for automatic.

    Raises
    ------
    ValidationError
        For anything else.
    """
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_")
        key = {"circ_overwrite": "overwrite", "circ_no_overwrite": "no_overwrite"}.get(key, key)
        if key in BUFFER_MODE_NAMES:
            return BUFFER_MODE_NAMES[key]
    elif isinstance(value, int) and int(value) in (int(C.CIRC_OVERWRITE), int(C.CIRC_NO_OVERWRITE)):
        return int(value)
    raise ValidationError(f"buffer_mode must be one of {', '.join(BUFFER_MODE_NAMES)}, "
                          f"got {value!r}", None, "buffer_mode")


class RejectedModes:
    """Per-camera memory of buffer modes a camera refused (thread-safe).

    Keyed by (library path, camera name): the same camera opened again in this
    process is not asked twice.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rejected: dict[tuple[str, str], dict[int, str]] = {}

    @staticmethod
    def key(camera: Any) -> tuple[str, str]:
        """The memory key of ``camera`` (library path, camera name).

        Parameters
        ----------
        camera : Camera

        Returns
        -------
        tuple of str
        """
        return (str(getattr(camera.library, "path", id(camera.library))), str(camera.name))

    def is_rejected(self, camera: Any, mode: int) -> bool:
        """Tell whether ``camera`` refused ``mode`` before.

        Parameters
        ----------
        camera : Camera
        mode : int

        Returns
        -------
        bool
        """
        with self._lock:
            return int(mode) in self._rejected.get(self.key(camera), {})

    def remember(self, camera: Any, mode: int, reason: str) -> bool:
        """Record that ``camera`` refused ``mode``.

        Parameters
        ----------
        camera : Camera
        mode : int
        reason : str
            The SDK error text, kept for :meth:`rejected`.

        Returns
        -------
        bool
            True when this is new (the caller logs it), False when already known.
        """
        with self._lock:
            modes = self._rejected.setdefault(self.key(camera), {})
            if int(mode) in modes:
                return False
            modes[int(mode)] = reason
            return True

    def rejected(self, camera: Any) -> dict[str, str]:
        """Modes refused by ``camera``: mode name -> the error that refused it.

        Parameters
        ----------
        camera : Camera

        Returns
        -------
        dict of str to str
        """
        with self._lock:
            return {mode_name(m): r for m, r in self._rejected.get(self.key(camera), {}).items()}

    def forget(self, camera: Any = None) -> None:
        """Forget the refusals of ``camera`` (of every camera when None).

        Parameters
        ----------
        camera : Camera, optional
        """
        with self._lock:
            if camera is None:
                self._rejected.clear()
            else:
                self._rejected.pop(self.key(camera), None)


#: The process-wide memory used by every stream.
REJECTED_MODES = RejectedModes()


def candidate_modes(camera: Any, forced: Optional[int],
                    memory: RejectedModes = REJECTED_MODES) -> list[int]:
    """The buffer modes to try, in order.

    Parameters
    ----------
    camera : Camera
    forced : int or None
        A mode the user forced (tried alone), or None for automatic.
    memory : RejectedModes
        Where refusals are remembered.

    Returns
    -------
    list of int
        ``[forced]``; or CIRC_OVERWRITE then CIRC_NO_OVERWRITE, minus a mode
        this camera refused before (the other one is then the only candidate).
    """
    if forced is not None:
        return [int(forced)]
    modes = [int(C.CIRC_OVERWRITE), int(C.CIRC_NO_OVERWRITE)]
    usable = [m for m in modes if not memory.is_rejected(camera, m)]
    return usable or modes


def setup_and_start(camera: Any, settings: Any, modes: Sequence[int],
                    provide_buffer: Callable[[int], tuple[int, int]],
                    memory: RejectedModes = REJECTED_MODES) -> tuple[int, int]:
    """Run ``pl_exp_setup_cont`` + ``pl_exp_start_cont``, falling back through ``modes``.

    Every parameter must already be set: nothing but setup, buffer allocation
    and start happens here. The caller holds ``camera.lock`` and has registered
    its callbacks.

    Parameters
    ----------
    camera : Camera
        Supplies ``library``, ``handle`` and ``name``.
    settings : AcquisitionSettings
        ``regions``, ``exp_mode`` and ``exposure`` for the setup call.
    modes : sequence of int
        Buffer modes in order of preference (from :func:`candidate_modes`).
    provide_buffer : callable
        ``provide_buffer(frame_bytes) -> (address, size)``: the circular buffer
        for frames of that size (called after each successful setup; it should
        reuse its buffer when the size did not change).
    memory : RejectedModes
        Where refusals are remembered.

    Returns
    -------
    (int, int)
        The buffer mode that started and the frame size in bytes.

    Raises
    ------
    SDKError
        The error of the last mode tried, when none started (a refusal of an
        earlier mode is attached as ``__context__``, never raised by itself).
    """
    lib, handle = camera.library, camera.handle
    last_error: Optional[SDKError] = None
    for position, mode in enumerate(modes):
        has_fallback = position + 1 < len(modes)
        try:
            frame_bytes = lib.exp_setup_cont(handle, settings.regions, settings.exp_mode,
                                             settings.exposure, mode)
        except SDKError as exc:
            if has_fallback and exc.code in _SETUP_REJECTIONS:
                _note_refusal(camera, mode, exc, memory)
                last_error = exc
                continue
            raise
        address, size = provide_buffer(frame_bytes)
        try:
            lib.exp_start_cont(handle, address, size)
        except SDKError as exc:
            if has_fallback and exc.code in _START_REJECTIONS:
                _note_refusal(camera, mode, exc, memory)
                last_error = exc
                continue
            raise
        if last_error is not None:
            logger.debug("%s streams in %s after the fallback", camera.name, mode_name(mode))
        return mode, frame_bytes
    # Only reached when every mode was refused with a fallback-able error and the
    # last one had no fallback, which the loop raises directly; kept for safety.
    raise last_error if last_error is not None else ValidationError(
        "no buffer mode to try", None, "setup_and_start")


def _note_refusal(camera: Any, mode: int, error: SDKError, memory: RejectedModes) -> None:
    """Remember a refused mode; log it the first time for this camera only."""
    if memory.remember(camera, mode, str(error)):
        logger.warning("%s refused %s (%s); streaming with the other circular-buffer mode "
                       "from now on", camera.name, mode_name(mode), error)
    else:
        logger.debug("%s refused %s again (%s)", camera.name, mode_name(mode), error)
