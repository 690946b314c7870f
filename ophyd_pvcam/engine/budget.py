"""The host memory budget: one number that bounds every frame queue in RAM.

Everything that holds frames between the camera and the file (the engine's
host frame ring, the writer's queue) draws on one budget, so a burst that
fits is captured at the camera's full rate and written afterwards, and
memory never grows past what the user allowed.

The budget is ``PVCAM_HOST_MEMORY_BUDGET`` when set: bytes, with an optional
``K``/``M``/``G``/``T`` suffix (powers of 1024), or a percentage of physical
RAM (``"40%"``). The default is :data:`DEFAULT_FRACTION` of physical RAM.
"""
from __future__ import annotations

import os
import re
from typing import Optional

from ophyd_pvcam.engine.errors import ValidationError

__all__ = ["DEFAULT_FRACTION", "ENV_VAR", "MIN_BUDGET", "host_memory_budget",
           "parse_memory_size", "physical_memory"]

#: Environment variable that sets the budget.
ENV_VAR = "PVCAM_HOST_MEMORY_BUDGET"
#: Share of physical RAM used when nothing is configured.
DEFAULT_FRACTION = 0.25
#: Smallest budget accepted: a few frames of the largest sensor must fit.
MIN_BUDGET = 64 * 1024 ** 2

_SUFFIXES = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def physical_memory() -> int:
    """Physical RAM of this machine in bytes (``sysconf``; 8 GiB if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: Windows
        return 8 * 1024 ** 3


def parse_memory_size(text: str, *, total: Optional[int] = None) -> int:
    """Bytes meant by ``text``: ``"6G"``, ``"512M"``, ``"1073741824"`` or ``"40%"``.

    Raises
    ------
    ValidationError
        For anything else, a percentage outside (0, 100], or a result below
        :data:`MIN_BUDGET` or above physical RAM.
    """
    total = physical_memory() if total is None else total
    percent = _PERCENT.match(text)
    size = _SIZE.match(text)
    if percent:
        share = float(percent.group(1))
        if not 0 < share <= 100:
            raise ValidationError(f"{ENV_VAR}={text!r}: a percentage must be in (0, 100]")
        value = int(total * share / 100)
    elif size:
        value = int(float(size.group(1)) * _SUFFIXES[size.group(2).upper()])
    else:
        raise ValidationError(f"{ENV_VAR}={text!r} is not a size: use bytes with an optional "
                              f"K/M/G/T suffix (e.g. 6G) or a percentage of RAM (e.g. 40%)")
    if value < MIN_BUDGET:
        raise ValidationError(f"{ENV_VAR}={text!r} is {value} bytes; at least "
                              f"{MIN_BUDGET // 1024 ** 2} MiB is needed")
    if value > total:
        raise ValidationError(f"{ENV_VAR}={text!r} is more than this machine's "
                              f"{total / 1024 ** 3:.1f} GiB of RAM")
    return value


def host_memory_budget() -> int:
    """The configured budget in bytes (see the module notes)."""
    text = os.environ.get(ENV_VAR, "").strip()
    total = physical_memory()
    if text:
        return parse_memory_size(text, total=total)
    return max(MIN_BUDGET, int(total * DEFAULT_FRACTION))
