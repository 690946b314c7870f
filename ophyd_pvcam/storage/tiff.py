"""A minimal baseline TIFF writer for single greyscale frames (``ophyd-pvcam snap --tiff``).

Uncompressed, one strip, little-endian; 8- or 16-bit unsigned pixels. Fiji,
ImageJ, tifffile and Pillow read it. Kept here so snapshots need no imaging
library.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["write_tiff"]

_SHORT, _LONG, _RATIONAL = 3, 4, 5


def write_tiff(frame: np.ndarray, path: Union[str, "os.PathLike[str]"], description: str = "") -> Path:
    """Write a 2-D ``uint8`` or ``uint16`` frame as a baseline TIFF.

    Parameters
    ----------
    frame : numpy.ndarray
        The image, shape ``(height, width)``.
    path : str or os.PathLike
        Destination (parent folders are created).
    description : str
        Stored in the ImageDescription tag (ASCII).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    image = np.ascontiguousarray(frame)
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"write_tiff needs a 2-D uint8/uint16 image, got {image.dtype} {image.shape}")
    height, width = image.shape
    pixels = image.astype(image.dtype.newbyteorder("<"), copy=False).tobytes()
    text = description.encode("ascii", "replace") + b"\0"
    bits = image.dtype.itemsize * 8
    # Layout: header (8) | description | pixels | IFD
    desc_offset = 8
    pixel_offset = desc_offset + len(text)
    ifd_offset = pixel_offset + len(pixels)
    ifd_offset += ifd_offset % 2  # IFDs start on a word boundary
    tags = [
        (256, _LONG, 1, width),            # ImageWidth
        (257, _LONG, 1, height),           # ImageLength
        (258, _SHORT, 1, bits),            # BitsPerSample
        (259, _SHORT, 1, 1),               # Compression: none
        (262, _SHORT, 1, 1),               # Photometric: black is zero
        (270, 2, len(text), desc_offset),  # ImageDescription (ASCII)
        (273, _LONG, 1, pixel_offset),     # StripOffsets
        (277, _SHORT, 1, 1),               # SamplesPerPixel
        (278, _LONG, 1, height),           # RowsPerStrip
        (279, _LONG, 1, len(pixels)),      # StripByteCounts
        (339, _SHORT, 1, 1),               # SampleFormat: unsigned integer
    ]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        if kind == _SHORT and count == 1:
            ifd += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(b"II" + struct.pack("<HI", 42, ifd_offset))
        handle.write(text)
        handle.write(pixels)
        handle.write(b"\0" * (ifd_offset - pixel_offset - len(pixels)))
        handle.write(ifd)
    return target
