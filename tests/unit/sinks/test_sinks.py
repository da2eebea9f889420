"""Sinks off the inference thread: the dispatcher never blocks the caller, applies each sink's policy, shares one
event id between sinks, survives a failing sink; jsonl appends, fsyncs, rotates, is private; --output parsing."""

from __future__ import annotations

import io
import json
import os
import stat
import threading
import time

import pytest

from edgeml.errors import InvalidArgumentError, SinkError
from edgeml.postprocess.classification import Classification
from edgeml.sinks import default_policy, open_sinks, parse_output
from edgeml.sinks.dispatch import Dispatcher
from edgeml.sinks.emit import EmitPolicy
from edgeml.sinks.events import EventStamp
from edgeml.sinks.jsonl import JsonlSink
from edgeml.sinks.stdout import StdoutSink
from edgeml.streaming.stats import StreamResult


def result(i: int, label: str = "a") -> StreamResult:
    return StreamResult(i, 1000.0 + i, (Classification(0, label, 0.9),), 2.0, "synthetic",
                        model={"name": "m", "version": None})


class ListSink:
    """A sink that keeps what it is given (the protocol's smallest real implementation)."""

    needs_network = False

    def __init__(self, policy: EmitPolicy, name: str = "list", delay: float = 0.0, fail: bool = False) -> None:
        self.name, self.policy, self.delay, self.fail = name, policy, delay, fail
        self.events: list[dict] = []
        self.batches = 0
        self.closed = False

    def write(self, events):
        if self.fail:
            raise OSError("disk full")
        time.sleep(self.delay)
        self.events.extend(events)
        self.batches += 1

    def close(self, timeout=5.0):
        self.closed = True

    def status(self):
        return {"sent": len(self.events)}


def test_each_sink_has_its_policy_and_a_result_has_one_id_across_sinks():
    every, change = ListSink(EmitPolicy("every"), "every"), ListSink(EmitPolicy("change", hold=2), "change")
    d = Dispatcher([every, change], EventStamp("dev", run="r")).start()
    labels = ["a", "a", "a", "b", "b", "b"]
    for i, label in enumerate(labels):
        d.submit(result(i, label))
    d.close()
    assert [e["frame"] for e in every.events] == list(range(6))
    assert [(e["frame"], e["type"]) for e in change.events] == [(1, "change"), (4, "change")]
    assert len({e["id"] for e in every.events}) == 6
    assert every.closed and change.closed


class StuckSink(ListSink):
    """A sink whose write blocks until released: a disk or broker that stopped answering."""

    def __init__(self, policy: EmitPolicy) -> None:
        super().__init__(policy, "stuck")
        self.entered, self.release = threading.Event(), threading.Event()

    def write(self, events):
        self.entered.set()
        self.release.wait()
        super().write(events)


def in_thread(fn, *args, guard: float = 10.0) -> bool:
    """Run ``fn(*args)`` on a daemon thread; True when it returned within ``guard`` seconds (a hang guard)."""
    worker = threading.Thread(target=fn, args=args, daemon=True)
    worker.start()
    worker.join(guard)
    return not worker.is_alive()


def test_submit_never_blocks_on_a_stuck_sink_and_counts_what_it_drops():
    """With the sink stuck in write, 200 submits all return (no submit waits for it: the hang guard would see it)
    and the 8-deep queue keeps 8; the other 192 are dropped and counted. (Their speed: make bench-budgets.)"""
    stuck = StuckSink(EmitPolicy("every"))
    d = Dispatcher([stuck], queue_size=8).start()
    d.submit(result(0))
    assert stuck.entered.wait(10), "the dispatcher never handed the first result to the sink"
    try:
        assert in_thread(lambda: [d.submit(result(i)) for i in range(1, 201)]), "a submit waited for the sink"
        assert (d.submitted, d.dropped) == (1 + 8, 192)
        assert d.status()["dispatch_dropped"] == d.dropped
    finally:
        stuck.release.set()
    d.close(timeout=3.0)
    assert [e["frame"] for e in stuck.events] == list(range(9))  # the first, then the 8 the queue kept


def test_a_failing_sink_is_counted_and_the_others_still_get_events(caplog):
    bad, good = ListSink(EmitPolicy("every"), "bad", fail=True), ListSink(EmitPolicy("every"), "good")
    d = Dispatcher([bad, good]).start()
    for i in range(5):
        d.submit(result(i))
    d.close()
    assert len(good.events) == 5
    assert d.status()["sinks"]["bad"]["failures"] >= 1
    assert "disk full" in caplog.text


def test_observers_see_every_result_and_a_failing_observer_is_logged(caplog):
    seen = []
    d = Dispatcher([], observers=[seen.append, lambda r: 1 / 0]).start()
    for i in range(4):
        d.submit(result(i))
    d.close()
    assert [r.index for r in seen] == [0, 1, 2, 3]
    assert "ZeroDivisionError" in caplog.text or "division" in caplog.text


def test_heartbeats_come_on_the_clock_even_without_results():
    now = [0.0]
    sink = ListSink(EmitPolicy("change", heartbeat_s=1.0))
    d = Dispatcher([sink], stats=lambda: {"frames": 42}, clock=lambda: now[0]).start()
    d.submit(result(0))
    time.sleep(0.4)
    now[0] = 1.5
    deadline = time.monotonic() + 3
    while not sink.events and time.monotonic() < deadline:
        time.sleep(0.05)
    d.close()
    beats = [e for e in sink.events if e["type"] == "heartbeat"]
    assert beats and beats[0]["stats"]["frames"] == 42 and beats[0]["labels"][0]["label"] == "a"


def test_model_store_events_go_to_every_sink_whatever_its_policy():
    sink = ListSink(EmitPolicy("interval", interval_s=3600))
    d = Dispatcher([sink]).start()
    d.submit(result(0))
    swapped = StreamResult(1, 1.0, (), 1.0, "s", model={"name": "m", "version": 4},
                           events=({"event": "model_swapped", "previous": 3, "version": 4},))
    d.submit(swapped)
    d.close()
    assert [e["type"] for e in sink.events] == ["result", "model"]
    assert sink.events[1]["event"] == "model_swapped" and sink.events[1]["model"]["version"] == 4


def test_jsonl_appends_whole_lines_private_and_rotates_by_size(tmp_path):
    path = tmp_path / "results.jsonl"
    sink = JsonlSink(path, EmitPolicy("every"), max_bytes=2000, backups=2)
    stamp = EventStamp("d", run="r")
    for i in range(60):
        sink.write([stamp.result(result(i))])
    sink.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    files = [path, tmp_path / "results.jsonl.1", tmp_path / "results.jsonl.2"]
    assert all(f.exists() for f in files) and not (tmp_path / "results.jsonl.3").exists()
    assert all(f.stat().st_size <= 2000 for f in files)
    seqs = [json.loads(line)["seq"] for f in reversed(files) for line in f.read_text().splitlines()]
    assert seqs == sorted(seqs) and seqs[-1] == 60  # the oldest were rotated away, the rest in order
    assert sink.rotations >= 2


def test_jsonl_appends_to_an_existing_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"old": 1}\n')
    sink = JsonlSink(path, EmitPolicy("every"))
    sink.write([{"new": 2}])
    sink.close()
    assert path.read_text().splitlines() == ['{"old": 1}', '{"new":2}']


def test_jsonl_in_a_missing_folder_says_which_path_and_the_fix(tmp_path):
    with pytest.raises(SinkError, match=r"Cannot append results to .*nowhere.*writable folder"):
        JsonlSink(tmp_path / "nowhere" / "r.jsonl", EmitPolicy("every"))


def test_stdout_sink_writes_compact_json_lines():
    buf = io.StringIO()
    sink = StdoutSink(EmitPolicy("every"), stream=buf)
    sink.write([{"a": 1}, {"b": [1, 2]}])
    assert buf.getvalue() == '{"a":1}\n{"b":[1,2]}\n' and sink.status() == {"sent": 2}


@pytest.mark.parametrize("text, match", [
    ("file.jsonl", "--output must be"), ("jsonl:", "--output must be"), ("kafka://x/y", "--output must be"),
    ("mqtt:broker/topic", "needs //HOST/TOPIC"),
])
def test_bad_outputs_name_the_valid_forms(text, match):
    with pytest.raises(InvalidArgumentError, match=match):
        parse_output([text])


def test_an_output_given_twice_is_refused():
    with pytest.raises(InvalidArgumentError, match="given twice"):
        parse_output(["-", "-"])


def test_default_policies_spare_the_fleet():
    stdout, mqtt = parse_output(["-", "mqtt://127.0.0.1/edgeml"])
    assert default_policy(stdout).mode == "every" and default_policy(stdout).heartbeat_s is None
    assert default_policy(mqtt).mode == "change" and default_policy(mqtt).heartbeat_s == 60.0
    assert default_policy(mqtt, "every", heartbeat_s=0).heartbeat_s is None
    assert default_policy(stdout, "interval:5", heartbeat_s=10).to_dict()["interval_s"] == 5.0


def test_open_sinks_closes_those_opened_when_a_later_one_fails(tmp_path):
    opened = []
    real_init = JsonlSink.__init__

    def spy(self, *a, **k):
        real_init(self, *a, **k)
        opened.append(self)

    JsonlSink.__init__ = spy  # type: ignore[method-assign]
    try:
        with pytest.raises(SinkError):
            open_sinks(parse_output([f"jsonl:{tmp_path}/ok.jsonl", f"jsonl:{tmp_path}/no/such.jsonl"]),
                       store=tmp_path, device="d")
    finally:
        JsonlSink.__init__ = real_init  # type: ignore[method-assign]
    assert len(opened) == 1 and opened[0]._fd == -1


def test_dispatcher_thread_is_a_daemon_and_close_returns_although_a_sink_is_stuck():
    """close(timeout) gives up on a sink stuck in write and still closes it: it returns (the hang guard would see a
    close that waited for the sink). How long it takes against its timeout: make bench-budgets."""
    stuck = StuckSink(EmitPolicy("every"))
    d = Dispatcher([stuck]).start()
    assert any(t.name == "edgeml-sinks" and t.daemon for t in threading.enumerate())
    for i in range(50):
        d.submit(result(i))
    assert stuck.entered.wait(10)
    try:
        assert in_thread(d.close, 0.5), "close waited for the stuck sink"
        assert stuck.closed and stuck.events == []  # closed without the write it was stuck in ever finishing
    finally:
        stuck.release.set()
