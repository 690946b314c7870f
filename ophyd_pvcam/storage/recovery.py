"""Make a file left behind by a killed SWMR writer openable by every reader.

A SWMR writer marks the superblock "open for write / SWMR write". If the
process dies, the marks stay: readers that open with ``swmr=True`` (our
handler, Tiled) read every flushed frame, but a plain ``h5py.File(path)``,
silx, h5web or Fiji refuse the file ("file is already open for write (may use
<h5clear file> to clear file consistency flags)"). :func:`clear_swmr_flags`
does what ``h5clear -s`` does, without needing the HDF5 command-line tools:
it zeroes the consistency flags of the version 2/3 superblock and rewrites
its Jenkins lookup3 checksum (HDF5 file format specification, "Superblock
Version 2" and "Checksum"). It checks the existing checksum first and
refuses files it does not understand, so it never damages a file.
"""
from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import Union

from .errors import StorageError

__all__ = ["clear_swmr_flags", "lookup3"]

logger = logging.getLogger(__name__)

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_FLAGS_OFFSET = 11  # signature (8) + version + offset size + length size
_MASK = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, the checksum HDF5 stores in its metadata.

    Parameters
    ----------
    data : bytes
        The bytes to hash.
    initval : int
        Seed (HDF5 uses 0).

    Returns
    -------
    int
        The 32-bit hash.
    """
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _MASK
    pos = 0
    while length > 12:
        a = (a + int.from_bytes(data[pos:pos + 4], "little")) & _MASK
        b = (b + int.from_bytes(data[pos + 4:pos + 8], "little")) & _MASK
        c = (c + int.from_bytes(data[pos + 8:pos + 12], "little")) & _MASK
        # mix(a, b, c)
        a = (a - c) & _MASK; a ^= _rot(c, 4); c = (c + b) & _MASK  # noqa: E702
        b = (b - a) & _MASK; b ^= _rot(a, 6); a = (a + c) & _MASK  # noqa: E702
        c = (c - b) & _MASK; c ^= _rot(b, 8); b = (b + a) & _MASK  # noqa: E702
        a = (a - c) & _MASK; a ^= _rot(c, 16); c = (c + b) & _MASK  # noqa: E702
        b = (b - a) & _MASK; b ^= _rot(a, 19); a = (a + c) & _MASK  # noqa: E702
        c = (c - b) & _MASK; c ^= _rot(b, 4); b = (b + a) & _MASK  # noqa: E702
        pos += 12
        length -= 12
    if length == 0:
        return c
    # The last block: bytes 0-3 go to a, 4-7 to b, 8-11 to c (little-endian).
    tail = data[pos:pos + length] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK
    c = (c + int.from_bytes(tail[8:12], "little")) & _MASK
    # final(a, b, c)
    c ^= b; c = (c - _rot(b, 14)) & _MASK  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & _MASK  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & _MASK  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & _MASK  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & _MASK  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & _MASK  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & _MASK  # noqa: E702
    return c


def clear_swmr_flags(path: Union[str, os.PathLike]) -> bool:
    """Clear the "open for write" marks a killed writer left in a file's superblock.

    Only run this on a file no process is writing any more.

    Parameters
    ----------
    path : path-like
        An HDF5 file written with ``libver`` v1.10 or later (superblock 2 or 3),
        as :class:`~ophyd_pvcam.storage.hdf5.HDF5FrameWriter` writes.

    Returns
    -------
    bool
        ``True`` if flags were set and have been cleared, ``False`` if the
        file was already clean (or has a pre-1.10 superblock, which carries
        no such flags).

    Raises
    ------
    StorageError
        If the file is not HDF5, has an unknown superblock version, or its
        superblock checksum does not verify (nothing is written then).
    """
    path = Path(path)
    call = "clear_swmr_flags"
    with open(path, "r+b") as stream:
        head = stream.read(12)
        if len(head) < 12 or head[:8] != _SIGNATURE:
            raise StorageError(f"{path} is not an HDF5 file with a superblock at offset 0", call=call)
        version, offset_size = head[8], head[9]
        if version in (0, 1):
            # These superblocks predate SWMR; HDF5 does not mark them while writing.
            return False
        if version not in (2, 3):
            raise StorageError(f"{path}: superblock version {version} is not supported "
                               "(only 2 and 3, written with libver v1.10 or later)", call=call)
        # signature..flags (12) + base, extension, end-of-file, root addresses.
        body_size = 12 + 4 * offset_size
        stream.seek(0)
        block = bytearray(stream.read(body_size + 4))
        if len(block) != body_size + 4:
            raise StorageError(f"{path}: truncated superblock", call=call)
        (stored,) = struct.unpack_from("<I", block, body_size)
        if lookup3(bytes(block[:body_size])) != stored:
            raise StorageError(f"{path}: superblock checksum does not verify; not modified", call=call)
        if block[_FLAGS_OFFSET] == 0:
            return False
        logger.info("clearing consistency flags 0x%02x of %s", block[_FLAGS_OFFSET], path)
        block[_FLAGS_OFFSET] = 0
        struct.pack_into("<I", block, body_size, lookup3(bytes(block[:body_size])))
        stream.seek(0)
        stream.write(block)
        stream.flush()
        os.fsync(stream.fileno())
    return True
