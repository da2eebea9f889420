"""The MQTT sink against Debian's real mosquitto: order, QoS 1, outages, kills, availability and HA discovery.

Every event committed to the outbox arrives, whatever happens to the broker or to the edgeml process: delivery is
at least once, so the checks de-duplicate by the event ``id`` and count the duplicates (only of events that were in
flight when the connection broke).
"""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from edgeml.postprocess.classification import Classification
from edgeml.sinks.dispatch import Dispatcher
from edgeml.sinks.emit import EmitPolicy
from edgeml.sinks.events import EventStamp
from edgeml.sinks.mqtt import WINDOW, MqttSink
from edgeml.streaming.stats import StreamResult
from tests import mosquitto as broker
from tests.mosquitto import Mosquitto, Subscriber

mosquitto = broker.mosquitto  # the fixture: a real broker per test
ROOT = Path(__file__).resolve().parents[2]
TOPIC = "edgeml/test"


def _result(i: int) -> StreamResult:
    return StreamResult(index=i, timestamp=time.time(), latency_ms=1.0,
                        results=(Classification(i % 10, f"label{i % 10}", 0.9), Classification(0, "other", 0.1)))


def _unique_seqs(payloads: list[bytes]) -> tuple[list[int], int]:
    """The events' ``seq`` in order of first arrival, and how many arrivals were duplicates (by ``id``)."""
    seen: set[str] = set()
    order: list[int] = []
    for p in payloads:
        event = json.loads(p)
        if event["id"] not in seen:
            seen.add(event["id"])
            order.append(event["seq"])
    return order, len(payloads) - len(order)


def _sink(broker: Mosquitto, store: Path, **kwargs) -> MqttSink:
    return MqttSink(f"{broker.url}/{TOPIC}", store=store, policy=EmitPolicy("every"), device="kiosk1", **kwargs)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _outbox_rows(store: Path) -> list[str]:
    """The event ids committed to the (only) outbox in ``store``, read as another process would."""
    files = list((store / "outbox").glob("*.sqlite3"))
    assert len(files) == 1, files
    db = sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True)
    try:
        return [json.loads(body)["id"] for (body,) in db.execute("SELECT body FROM events ORDER BY id")]
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return []  # the child has created the file (mode 0600 first) but not yet its tables
    finally:
        db.close()


# -- with the broker -------------------------------------------------------------------------------------------

def test_events_arrive_in_order_with_qos1_through_the_dispatcher(mosquitto, tmp_path):
    sub = Subscriber(mosquitto.port, [f"{TOPIC}/events"]).wait_subscribed()
    sink = _sink(mosquitto, tmp_path / "store")
    dispatcher = Dispatcher([sink], EventStamp("kiosk1")).start()
    for i in range(500):
        dispatcher.submit(_result(i))
    sub.wait_for(500, 20)
    _wait(lambda: sink.status()["sent"] == 500, 5, "500 acknowledgements")
    dispatcher.close(5)
    order, dups = _unique_seqs(sub.payloads())
    assert order == list(range(1, 501)) and dups == 0
    assert {m[3] for m in sub.messages} == {1}  # QoS 1 end to end
    assert _outbox_rows(tmp_path / "store") == []  # every row acknowledged, then deleted
    sub.close()


def test_a_broker_down_at_start_is_not_an_error_events_wait_in_the_outbox(mosquitto, tmp_path):
    sub = Subscriber(mosquitto.port, [f"{TOPIC}/events"]).wait_subscribed()
    mosquitto.stop()  # the subscriber's persistent session is saved with the broker
    sink = _sink(mosquitto, tmp_path / "store")
    sink.write([{"id": f"e-{i}", "seq": i} for i in range(100)])
    time.sleep(0.5)
    assert sink.status() | {"outbox_depth": sink.outbox.depth()} == {
        "sent": 0, "outbox_depth": 100, "outbox_dropped": 0, "connected": False, "reconnects": 0}
    mosquitto.start()
    order, _ = _unique_seqs(sub.wait_for(100, 20))
    assert order == list(range(100))
    _wait(lambda: sink.outbox.depth() == 0, 10, "the outbox to empty")
    sink.close(2)
    sub.close()



def test_close_drains_the_outbox_to_a_broker_that_came_back_just_before_it(mosquitto, tmp_path):
    """Down for 7.5 s, paho's own back-off would next try at 15 s; close tries at once and drains within 4 s."""
    sub = Subscriber(mosquitto.port, [f"{TOPIC}/events"]).wait_subscribed()
    mosquitto.stop()
    start = time.monotonic()
    sink = _sink(mosquitto, tmp_path / "store")  # attempts at 0, 1, 3 and 7 s, then not before 15 s
    sink.write([{"id": f"e-{i}", "seq": i} for i in range(200)])
    time.sleep(max(0.0, 7.5 - (time.monotonic() - start)))
    assert not sink.status()["connected"] and sink.outbox.depth() == 200
    mosquitto.start()
    time.sleep(0.5)
    began = time.monotonic()
    sink.close(4.0)
    assert time.monotonic() - began < 4.0
    assert _outbox_rows(tmp_path / "store") == []  # every event acknowledged before close returned
    order, _ = _unique_seqs(sub.wait_until(lambda got: len(_unique_seqs(got)[0]) >= 200, 10))
    assert order == list(range(200))
    sub.close()


def test_close_keeps_the_outbox_when_the_broker_stays_away_and_returns_within_its_timeout(mosquitto, tmp_path):
    mosquitto.stop()
    sink = _sink(mosquitto, tmp_path / "store")
    sink.write([{"id": f"e-{i}", "seq": i} for i in range(50)])
    began = time.monotonic()
    sink.close(2.0)
    elapsed = time.monotonic() - began
    assert 1.0 <= elapsed < 2.0, elapsed  # kept trying for the broker, and stopped in time
    assert _outbox_rows(tmp_path / "store") == [f"e-{i}" for i in range(50)]  # nothing lost: the next run sends them

def test_broker_stopped_for_10_s_mid_stream_loses_nothing(mosquitto, tmp_path):
    """Results keep coming during the outage; after the restart every committed event arrives, in order."""
    sub = Subscriber(mosquitto.port, [f"{TOPIC}/events"]).wait_subscribed()
    sink = _sink(mosquitto, tmp_path / "store")
    dispatcher = Dispatcher([sink], EventStamp("kiosk1")).start()
    n, stopped_at, restarted_at = 0, None, None
    start = time.monotonic()
    while time.monotonic() - start < 13.0:
        elapsed = time.monotonic() - start
        if stopped_at is None and elapsed > 1.5:
            mosquitto.stop()
            stopped_at = elapsed
        if stopped_at is not None and restarted_at is None and elapsed > stopped_at + 10.0:
            mosquitto.start()
            restarted_at = elapsed
        dispatcher.submit(_result(n))
        n += 1
        time.sleep(0.01)
    assert restarted_at is not None and dispatcher.dropped == 0
    _wait(lambda: sink.outbox.depth() == 0, 30, "the outbox to drain after the restart")
    payloads = sub.wait_until(lambda got: len(_unique_seqs(got)[0]) >= n, 15)
    order, dups = _unique_seqs(payloads)
    assert order == list(range(1, n + 1)), "every committed event, each first seen in order"
    assert dups <= 4 * WINDOW  # only events in flight (to the broker or from it) at the stop are repeated
    assert sink.status()["reconnects"] >= 1
    dispatcher.close(3)
    sub.close()
    print(f"\n{n} events, {dups} duplicates, outage {stopped_at:.1f}-{restarted_at:.1f} s")


_CHILD = textwrap.dedent("""
    import sys, time
    from edgeml.sinks.emit import EmitPolicy
    from edgeml.sinks.mqtt import MqttSink
    sink = MqttSink(sys.argv[1], store=sys.argv[2], policy=EmitPolicy("every"), device="child")
    while not sink.status()["connected"]:
        time.sleep(0.02)
    sink.write([{"id": "child-1", "seq": 1}])
    while sink.status()["outbox_depth"]:
        time.sleep(0.02)
    print("ready", flush=True)
    time.sleep(60)
""")


def test_availability_is_online_retained_and_offline_by_last_will_on_sigkill(mosquitto, tmp_path):
    avail = f"{TOPIC}/availability"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, f"{mosquitto.url}/{TOPIC}", str(tmp_path / "s")],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        late = Subscriber(mosquitto.port, [avail], client_id="late-1").wait_subscribed()
        late.wait_for(1, 5)
        assert late.messages[0][1:3] == (b"online", True)  # retained: a subscriber that comes later sees it
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert late.wait_for(2, 10)[1] == b"offline"  # the broker's last will, as the socket closed
        late.close()
        after = Subscriber(mosquitto.port, [avail], client_id="late-2").wait_subscribed()
        after.wait_for(1, 5)
        assert after.messages[0][1:3] == (b"offline", True)
        after.close()
    finally:
        child.kill()
        child.wait(10)


def test_discovery_is_retained_and_republished_when_home_assistant_starts(mosquitto, tmp_path, caplog):
    import paho.mqtt.publish as publish

    caplog.set_level(logging.DEBUG)
    sink = MqttSink(f"mqtt://edge%40ml:s3cr%40t@127.0.0.1:{mosquitto.port}/{TOPIC}", store=tmp_path / "store",
                    policy=EmitPolicy("every"), device="kiosk1")
    _wait(lambda: sink.status()["connected"], 10, "the sink to connect")
    assert sink.name == f"mqtt://edge@ml@127.0.0.1:{mosquitto.port}/{TOPIC}"
    config_topic = "homeassistant/sensor/edgeml_kiosk1/label/config"
    sub = Subscriber(mosquitto.port, [config_topic]).wait_subscribed()
    first = sub.wait_for(1, 5)[0]
    assert sub.messages[0][2] is True  # retained
    config = json.loads(first)
    assert config["state_topic"] == f"{TOPIC}/events" and config["availability_topic"] == f"{TOPIC}/availability"
    publish.single("homeassistant/status", "online", qos=1, hostname="127.0.0.1", port=mosquitto.port)
    assert json.loads(sub.wait_for(2, 5)[1]) == config  # Home Assistant restarted: the sensor is announced again
    sink.write([{"id": "a-1", "seq": 1}])
    _wait(lambda: sink.status()["sent"] == 1, 5, "the event to be acknowledged")
    sink.close(2)
    sub.close()
    logged = caplog.text + repr(sink.status()) + repr(sink.target) + sink.name
    assert "connected" in caplog.text and "s3cr" not in logged


def test_sigkill_of_edgeml_classify_while_the_broker_is_down_loses_no_committed_event(mosquitto, fashion_int8,
                                                                                       tmp_path):
    """The real CLI streams to MQTT with the broker down and is SIGKILLed; run again with the same store,
    it delivers every event its outbox had committed before the kill."""
    store = tmp_path / "store"
    sub = Subscriber(mosquitto.port, [f"{TOPIC}/events"]).wait_subscribed()
    mosquitto.stop()
    cmd = [sys.executable, "-m", "edgeml", "classify", "--model", str(fashion_int8), "--source", "synthetic",
           "--output", f"{mosquitto.url}/{TOPIC}", "--emit", "every", "--heartbeat", "0", "--store", str(store),
           "--device-id", "kiosk-kill"]
    # synthetic frames never end (and need no OpenCV, which the device install lacks)
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: (store / "outbox").is_dir() and any((store / "outbox").glob("*.sqlite3"))
              and len(_outbox_rows(store)) >= 300, 30, "300 events in the outbox")
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
    committed = _outbox_rows(store)
    assert len(committed) >= 300
    mosquitto.start()
    again = subprocess.run([*cmd, "--max-frames", "20"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    ids = set(committed)
    # Wait for the second run's 20 as well: the broker has acknowledged them (the run exits with its outbox empty),
    # but delivering them to this subscriber may take longer than the killed run's (seen on a quick run).
    payloads = sub.wait_until(lambda got: ids <= (seen := {json.loads(p)["id"] for p in got})
                              and len(seen) >= len(committed) + 20, 20)
    arrived = [json.loads(p)["id"] for p in payloads]
    first_seen = list(dict.fromkeys(arrived))
    assert first_seen[:len(committed)] == committed  # the killed run's events first, in their order
    assert len(set(arrived)) == len(committed) + 20 and _outbox_rows(store) == []
    sub.close()
