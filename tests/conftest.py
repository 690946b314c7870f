"""Session-wide test settings.

EPICS Channel Access is pinned to loopback *at import*, before any test can
create a CA context (ophyd's control layer and libca read these variables
once, when their context is created): searches, beacons and servers stay on
127.0.0.1 and nothing is broadcast. See ../shared/caproto-remote.md §4.
"""
import os

_LOOPBACK_CA = {
    "EPICS_CA_ADDR_LIST": "127.0.0.1",
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
}
for _key, _value in _LOOPBACK_CA.items():
    os.environ[_key] = _value
