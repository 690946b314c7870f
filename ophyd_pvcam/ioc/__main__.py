"""``python -m ophyd_pvcam.ioc``: serve PVCAM cameras over EPICS (see :mod:`.server`)."""
import sys

from ophyd_pvcam.ioc.server import main

if __name__ == "__main__":
    sys.exit(main())
