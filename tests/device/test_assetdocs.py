"""StreamDocuments and LegacyDocuments (ophyd_pvcam/device/assetdocs.py): documents of complete events only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ophyd_pvcam.device.assetdocs import LegacyDocuments, StreamDocuments


def test_stream_documents_send_the_resource_once_and_one_datum_per_new_range():
    docs = StreamDocuments("cam_image", Path("/data/f.h5"), (4, 6), np.uint16,
                           {"lost_before": "cam_lost_before"})
    assert docs.collect(0) == [] and not docs.resource_sent
    first = docs.collect(2)
    assert [name for name, _ in first] == ["stream_resource", "stream_datum"] * 2
    assert docs.resource_sent and docs.events_documented == 2
    again = docs.collect(1)                    # never goes back
    assert again == []
    assert [doc["indices"] for _, doc in docs.collect(5)] == [{"start": 2, "stop": 5}] * 2


def test_legacy_documents_make_one_datum_per_event_and_hand_fly_events_over_once():
    docs = LegacyDocuments(Path("/data/f.h5"))
    assert not docs.started
    docs.add_events(2)
    assert docs.started
    names = [name for name, _ in docs.collect()]
    assert names == ["resource", "datum", "datum"] and docs.collect() == []
    events = docs.take_pending_events()
    assert [point for point, _ in events] == [0, 1] and docs.take_pending_events() == []
    assert events[1][1] == docs.datum_id(1)
