"""The emit policy: every, change (consensus over N frames above a score, so flicker sends nothing), interval,
heartbeat; and the schema-1 events the stamp makes from results (stable ids, never pixels)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeml.errors import InvalidArgumentError
from edgeml.frame import RGB, Frame
from edgeml.postprocess.classification import Classification
from edgeml.sinks.emit import EmitPolicy, Emitter
from edgeml.sinks.events import SCHEMA, EventStamp, device_id
from edgeml.streaming.stats import StreamResult


def result(label: str | None, score: float = 0.9, index: int = 0, error: str | None = None) -> StreamResult:
    results = () if label is None else (Classification(1, label, score), Classification(2, "other", 0.01))
    return StreamResult(index, 1000.0 + index, results, 5.0, "synthetic", error=error,
                        model={"name": "m", "version": 3})


def sent(policy: EmitPolicy, labels: list, dt: float = 0.1) -> list[tuple[int, str]]:
    emitter = Emitter(policy)
    out = []
    for i, item in enumerate(labels):
        label, score = item if isinstance(item, tuple) else (item, 0.9)
        kind = emitter.offer(result(label, score, i), now=i * dt)
        if kind:
            out.append((i, kind))
    return out


def test_every_sends_each_result_errors_included():
    assert sent(EmitPolicy("every"), ["a", "b", None]) == [(0, "result"), (1, "result"), (2, "result")]


def test_change_needs_the_label_to_hold_for_n_frames():
    # a held 3 frames -> sent at frame 2; one-frame flicker of b sends nothing; c held -> sent; a again -> sent
    labels = ["a", "a", "a", "a", "b", "a", "a", "c", "c", "c", "a", "a", "a"]
    assert sent(EmitPolicy("change", hold=3), labels) == [(2, "change"), (9, "change"), (12, "change")]


def test_change_ignores_frames_below_the_score_and_they_break_the_streak():
    labels = [("a", 0.9), ("a", 0.3), ("a", 0.9), ("a", 0.9), ("a", 0.9)]
    assert sent(EmitPolicy("change", hold=3, min_score=0.5), labels) == [(4, "change")]


def test_change_with_hold_1_sends_every_label_change_only():
    assert sent(EmitPolicy("change", hold=1), ["a", "a", "b", "b", "a"]) == [(0, "change"), (2, "change"),
                                                                             (4, "change")]


def test_interval_sends_at_most_one_result_per_interval():
    out = sent(EmitPolicy.parse("interval:1"), ["a"] * 35, dt=0.1)  # 3.5 s of results at 10/s
    assert [i for i, _ in out] == [0, 10, 20, 30]


def test_heartbeat_is_due_every_interval():
    emitter = Emitter(EmitPolicy("change", heartbeat_s=60), now=0.0)
    assert not emitter.heartbeat_due(59.9)
    assert emitter.heartbeat_due(60.0)
    assert not emitter.heartbeat_due(100.0)
    assert emitter.heartbeat_due(120.5)
    assert not Emitter(EmitPolicy("every")).heartbeat_due(1e9)


@pytest.mark.parametrize("text, match", [
    ("sometimes", "every, change, interval"), ("interval:x", "number of seconds"), ("interval:0", "SECONDS > 0"),
    ("change:5", "takes no argument"),
])
def test_bad_policies_say_what_is_valid(text, match):
    with pytest.raises(InvalidArgumentError, match=match):
        EmitPolicy.parse(text)


def test_bad_hold_and_score_are_refused():
    with pytest.raises(InvalidArgumentError, match="emit-hold"):
        EmitPolicy("change", hold=0)
    with pytest.raises(InvalidArgumentError, match="emit-min-score"):
        EmitPolicy("change", min_score=1.5)


def test_events_carry_schema_ids_model_labels_and_no_pixels():
    stamp = EventStamp("kiosk1", run="abcd1234")
    frame = Frame(np.zeros((4, 4, 3), np.uint8), RGB, timestamp=0.0, index=7, source="synthetic")
    r = StreamResult(7, 1234.5, (Classification(3, "tabby", 0.87654321),), 6.25, "synthetic", frame=frame,
                     model={"name": "lite0", "version": 2})
    first, second = stamp.result(r), stamp.result(r, "change")
    assert first["schema"] == SCHEMA == 1
    assert (first["id"], first["seq"], second["id"], second["seq"]) == ("kiosk1-abcd1234-1", 1,
                                                                         "kiosk1-abcd1234-2", 2)
    assert second["type"] == "change" and first["type"] == "result"
    assert first["model"] == {"name": "lite0", "version": 2} and first["frame"] == 7
    assert first["captured_at"] == 1234.5 and first["latency_ms"] == 6.25
    assert first["labels"] == [{"label": "tabby", "score": 0.876543, "index": 3}]
    text = json.dumps(first)
    assert "pixels" not in text and "frame\": 7" in text and len(text) < 400


def test_heartbeat_and_model_events():
    stamp = EventStamp("d", run="r")
    beat = stamp.heartbeat(None, {"frames": 5})
    assert beat["type"] == "heartbeat" and beat["stats"] == {"frames": 5} and "labels" not in beat
    beat = stamp.heartbeat(result("a"), {"frames": 6})
    assert beat["labels"][0]["label"] == "a"
    model = stamp.model({"event": "model_swapped", "previous": 2, "version": 3}, result("a"))
    assert model["type"] == "model" and model["event"] == "model_swapped" and model["seq"] == 3


def test_device_id_prefers_the_environment():
    assert device_id({"EDGEML_DEVICE_ID": "cam-7"}) == "cam-7"
    assert device_id({}) != ""
