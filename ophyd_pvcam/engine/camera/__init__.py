"""One camera: opening it, its parameters and settings, and finite acquisitions.

Modules
-------
``camera``
    :class:`Camera`, one open camera (typed parameters, ROI/binning, exposure, snap).
``discovery``, ``session``
    Which cameras exist (:func:`list_cameras`), and the reference-counted SDK session.
``parameters``, ``paramvalues``
    Typed PVCAM parameters and the conversion of their values.
``settings``, ``roi``, ``exposure``, ``readout``, ``speedtable``
    What one acquisition is set up with: :class:`AcquisitionSettings`,
    :class:`Region`, exposure units and modes, readout ports and speeds.
``sequence``
    :func:`acquire_sequence`, a finite acquisition of N frames (what ``Camera.snap`` uses).

Public names
------------
:class:`Camera`, :func:`list_cameras`, :class:`CameraInfo`, :func:`camera_names`,
:func:`resolve_library`, :class:`Region`, :class:`AcquisitionSettings`,
:func:`acquire_sequence`.
"""
from ophyd_pvcam.engine.camera.camera import Camera
from ophyd_pvcam.engine.camera.discovery import CameraInfo, camera_names, list_cameras, resolve_library
from ophyd_pvcam.engine.camera.roi import Region
from ophyd_pvcam.engine.camera.sequence import acquire_sequence
from ophyd_pvcam.engine.camera.settings import AcquisitionSettings

__all__ = [
    "Camera",
    "CameraInfo",
    "list_cameras",
    "camera_names",
    "resolve_library",
    "Region",
    "AcquisitionSettings",
    "acquire_sequence",
]
