"""Regions of interest and binning, validated before they reach the SDK.

A :class:`Region` is given in unbinned sensor pixels (``x``, ``y`` of the
top-left corner, ``width``, ``height``). With a binning ``(sbin, pbin)`` it
becomes the SDK's ``rgn_type`` ``(s1, s2, sbin, p1, p2, pbin)`` (inclusive end
coordinates), and a frame of ``(height // pbin, width // sbin)`` pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["Region", "RegionLike", "as_region", "validate_binning", "allowed_binnings",
           "validate_regions"]

RgnTuple = tuple[int, int, int, int, int, int]


def _as_int(value: object, what: str) -> int:
    try:
        integral = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be an integer, got {value!r}", None, "roi") from None
    if isinstance(value, bool) or integral != value:
        raise ValidationError(f"{what} must be an integer, got {value!r}", None, "roi")
    return integral


@dataclass(frozen=True)
class Region:
    """A rectangle of the sensor, in unbinned pixels.

    Attributes
    ----------
    x, y : int
        Column and row of the top-left pixel (0-based).
    width, height : int
        Size in sensor pixels (multiples of the binning when used).
    """

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for field in ("x", "y", "width", "height"):
            object.__setattr__(self, field, _as_int(getattr(self, field), field))

    @classmethod
    def full(cls, sensor_size: tuple[int, int]) -> "Region":
        """The whole sensor.

        Parameters
        ----------
        sensor_size : tuple of int
            ``(width, height)``.

        Returns
        -------
        Region
        """
        width, height = sensor_size
        return cls(0, 0, int(width), int(height))

    @classmethod
    def from_rgn(cls, rgn: Sequence[int]) -> "Region":
        """Build a region from an SDK ``(s1, s2, sbin, p1, p2, pbin)`` tuple.

        Parameters
        ----------
        rgn : sequence of int

        Returns
        -------
        Region
        """
        s1, s2, _sbin, p1, p2, _pbin = (int(v) for v in rgn)
        return cls(s1, p1, s2 - s1 + 1, p2 - p1 + 1)

    def validate(self, sensor_size: tuple[int, int], binning: tuple[int, int] = (1, 1)) -> None:
        """Check the region fits the sensor and divides by the binning.

        Parameters
        ----------
        sensor_size : tuple of int
            ``(width, height)`` in pixels.
        binning : tuple of int
            ``(serial, parallel)`` binning factors.

        Raises
        ------
        ValidationError
            Negative origin, empty size, beyond the sensor edge, or a size
            that is not a multiple of the binning.
        """
        sensor_width, sensor_height = (int(v) for v in sensor_size)
        sbin, pbin = (int(v) for v in binning)
        if self.x < 0 or self.y < 0:
            raise ValidationError(f"{self} starts outside the sensor", None, "roi")
        if self.width < 1 or self.height < 1:
            raise ValidationError(f"{self} is empty", None, "roi")
        if self.x + self.width > sensor_width or self.y + self.height > sensor_height:
            raise ValidationError(f"{self} extends beyond the {sensor_width}x{sensor_height} "
                                  f"sensor", None, "roi")
        if self.width % sbin or self.height % pbin:
            raise ValidationError(f"{self}: width and height must be multiples of the binning "
                                  f"{sbin}x{pbin}", None, "roi")

    def to_rgn(self, binning: tuple[int, int] = (1, 1)) -> RgnTuple:
        """Return the SDK region tuple ``(s1, s2, sbin, p1, p2, pbin)``.

        Parameters
        ----------
        binning : tuple of int
            ``(serial, parallel)`` binning.

        Returns
        -------
        tuple of int
        """
        sbin, pbin = (int(v) for v in binning)
        return (self.x, self.x + self.width - 1, sbin, self.y, self.y + self.height - 1, pbin)

    def frame_shape(self, binning: tuple[int, int] = (1, 1)) -> tuple[int, int]:
        """Return ``(rows, columns)`` of the frame this region produces.

        Parameters
        ----------
        binning : tuple of int
            ``(serial, parallel)`` binning.

        Returns
        -------
        tuple of int
        """
        sbin, pbin = (int(v) for v in binning)
        return (self.height // pbin, self.width // sbin)


RegionLike = Union[Region, Sequence[int], None]


def as_region(value: RegionLike, sensor_size: tuple[int, int]) -> Region:
    """Coerce ``None`` (whole sensor), a :class:`Region` or an ``(x, y, w, h)`` sequence.

    Parameters
    ----------
    value : Region, sequence of 4 ints, or None
    sensor_size : tuple of int
        ``(width, height)``, for ``None``.

    Returns
    -------
    Region

    Raises
    ------
    ValidationError
        For anything else.
    """
    if value is None:
        return Region.full(sensor_size)
    if isinstance(value, Region):
        return value
    try:
        items = list(value)
    except TypeError:
        raise ValidationError(f"a ROI is a Region or (x, y, width, height), got {value!r}",
                              None, "roi") from None
    if len(items) != 4:
        raise ValidationError(f"a ROI is (x, y, width, height), got {value!r}", None, "roi")
    return Region(*items)


def allowed_binnings(serial: Optional[Sequence[int]],
                     parallel: Optional[Sequence[int]]) -> Optional[list[tuple[int, int]]]:
    """Combine the ``PARAM_BINNING_SER`` and ``PARAM_BINNING_PAR`` enums into pairs.

    PVCAM reports binnings as two enums whose items at the same index form one
    supported ``(serial, parallel)`` pair; when the two lists differ in length
    they cannot be paired, so every combination is allowed.

    Parameters
    ----------
    serial, parallel : sequence of int or None
        Enum values; ``None`` when the camera does not report them.

    Returns
    -------
    list of (int, int) or None
        ``None`` when the camera reports no binning list (any factor is then
        left for the SDK to judge).
    """
    if serial is None or parallel is None:
        return None
    if len(serial) == len(parallel):
        pairs = list(zip(serial, parallel))
    else:
        pairs = [(s, p) for s in serial for p in parallel]
    return [(int(s), int(p)) for s, p in dict.fromkeys(pairs)]


def validate_binning(binning: Union[int, Iterable[int]],
                     allowed: Optional[Sequence[tuple[int, int]]]) -> tuple[int, int]:
    """Check a binning against the camera's allowed pairs.

    Parameters
    ----------
    binning : int or pair of int
        ``n`` means ``(n, n)``.
    allowed : sequence of (int, int) or None
        From :func:`allowed_binnings`.

    Returns
    -------
    tuple of int
        ``(serial, parallel)``.

    Raises
    ------
    ValidationError
        Not positive integers, or not an allowed pair.
    """
    if isinstance(binning, (int,)) and not isinstance(binning, bool):
        pair = (binning, binning)
    else:
        try:
            pair = tuple(binning)  # type: ignore[arg-type]
        except TypeError:
            raise ValidationError(f"binning must be n or (serial, parallel), got {binning!r}",
                                  None, "binning") from None
    if len(pair) != 2:
        raise ValidationError(f"binning must be (serial, parallel), got {binning!r}",
                              None, "binning")
    sbin, pbin = (_as_int(v, "binning") for v in pair)
    if sbin < 1 or pbin < 1:
        raise ValidationError(f"binning factors must be >= 1, got {binning!r}", None, "binning")
    if allowed is not None and (sbin, pbin) not in allowed:
        raise ValidationError(f"binning {sbin}x{pbin} is not supported; allowed: "
                              f"{', '.join(f'{s}x{p}' for s, p in allowed)}", None, "binning")
    return (sbin, pbin)


def validate_regions(regions: Sequence[RegionLike], sensor_size: tuple[int, int],
                     binning: tuple[int, int] = (1, 1),
                     max_count: Optional[int] = None) -> tuple[Region, ...]:
    """Check several regions read out together (multi-ROI acquisition).

    Parameters
    ----------
    regions : sequence of Region or (x, y, width, height)
        At least one region.
    sensor_size : tuple of int
        ``(width, height)``.
    binning : tuple of int
        ``(serial, parallel)``, shared by every region.
    max_count : int, optional
        Most regions the camera takes on its current port (``PARAM_ROI_COUNT``
        maximum).

    Returns
    -------
    tuple of Region

    Raises
    ------
    ValidationError
        No region, too many, one outside the sensor or not a multiple of the
        binning, or two that overlap.
    """
    if isinstance(regions, Region) or not len(regions):
        raise ValidationError("rois must be a non-empty sequence of regions", None, "rois")
    out = tuple(as_region(r, sensor_size) for r in regions)
    if max_count is not None and len(out) > max_count:
        raise ValidationError(f"{len(out)} regions requested; the camera takes at most "
                              f"{max_count} on its current readout port", None, "rois")
    for region in out:
        region.validate(sensor_size, binning)
    for i, a in enumerate(out):
        for b in out[i + 1:]:
            if (a.x < b.x + b.width and b.x < a.x + a.width
                    and a.y < b.y + b.height and b.y < a.y + a.height):
                raise ValidationError(f"regions {a} and {b} overlap", None, "rois")
    return out
