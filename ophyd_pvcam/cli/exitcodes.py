"""Exit statuses of the ``ophyd-pvcam`` command (also importable from :mod:`ophyd_pvcam.cli`)."""
from __future__ import annotations

__all__ = ["EXIT_ERROR", "EXIT_USAGE", "EXIT_STALL", "EXIT_FRAMES_LOST"]

EXIT_ERROR = 1
"""Exit status for a camera, file or input error."""
EXIT_USAGE = 2
"""Exit status for a malformed command line (argparse's own)."""
EXIT_STALL = 3
"""Exit status of ``stream`` and ``demo`` when the camera stalled."""
EXIT_FRAMES_LOST = 4
"""Exit status of ``stream`` when frames were lost (the frames captured are in the file)."""
