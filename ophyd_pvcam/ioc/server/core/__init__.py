"""The server's sans-I/O core: the camera driver, HDF5 capture, preview and settings.

Nothing here imports caproto: the record groups of
:mod:`ophyd_pvcam.ioc.server` call this core from executor threads, and the
tests drive it directly (tests/ioc/server/core/).

:mod:`~ophyd_pvcam.ioc.server.core.driver`
    :class:`~ophyd_pvcam.ioc.server.core.driver.CameraDriver`: owns the camera
    and its stream, applies settings whole or refuses them.
:mod:`~ophyd_pvcam.ioc.server.core.capture`, :mod:`~ophyd_pvcam.ioc.server.core.capture_state`
    The HDF5 file plugin's behaviour and its validated state.
:mod:`~ophyd_pvcam.ioc.server.core.preview`
    The newest frame, for ``image1:``.
:mod:`~ophyd_pvcam.ioc.server.core.settings`
    The driver's settings table.
"""
