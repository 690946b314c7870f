"""The simulator under sanitizers: no memory errors, leaks or data races.

Decision: the client is a small C program (sanitizer_client.c) built with the
same sanitizer and linked against a sanitizer build of the library, rather
than a Python ctypes client with LD_PRELOAD=libasan.  Python itself leaks by
design and is not instrumented, so an ASan-preloaded interpreter needs
detect_leaks=0 and still drowns real reports in noise; the C client keeps
LeakSanitizer on and covers the same calls (init, parameters, sequence,
continuous in both buffer modes with callbacks that call back into the
library, software trigger, faults, uninit with acquisitions running).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ophyd_pvcam.sim import build

CLIENT = Path(__file__).with_name("sanitizer_client.c")


@pytest.mark.sanitizer
@pytest.mark.slow
@pytest.mark.parametrize("sanitize", ["address", "thread"])
def test_no_sanitizer_report(sanitized_client, sanitize):
    sanitized_client(CLIENT, sanitize, builders=[build], libraries=["libpvcam.so.2"])
