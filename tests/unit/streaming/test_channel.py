"""The capture → inference hand-over (edgeml.streaming.channel) on real threads: a bounded FIFO with back-pressure
for files, a latest-frame slot that drops and counts stale frames for live sources, decode-on-demand for a paced
file, and every wait ending on close or on the stream's stop event."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from edgeml.streaming.channel import POLL, Channel, Closed
from edgeml.streaming.stats import StreamStats

GUARD = 10.0  # seconds a call that should return may take before the test calls it hung


def channel(live: bool = False, **kwargs) -> tuple[Channel, StreamStats, threading.Event]:
    stats, stop = StreamStats(), threading.Event()
    return Channel(live, stats, stop, **kwargs), stats, stop


def started(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``fn`` on a daemon thread; its return value (or exception) lands in the list."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # the test inspects it
            out.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, out


def still_waiting(worker: threading.Thread) -> bool:
    """True when ``worker`` is still blocked after several of the channel's poll intervals."""
    worker.join(POLL * 6)
    return worker.is_alive()


def test_fifo_keeps_order_and_holds_the_reader_back_when_full():
    ch, stats, _ = channel(depth=2)
    ch.wait_for_space()  # room: returns at once
    ch.put("a")
    ch.put("b")
    waiter, _ = started(ch.wait_for_space)
    assert still_waiting(waiter), "a full queue must hold the reader back before it decodes"
    assert ch.get() == "a"
    waiter.join(GUARD)
    assert not waiter.is_alive()
    ch.put("c")
    putter, _ = started(lambda: ch.put("d"))  # a put into a full queue waits (back-pressure), never drops
    assert still_waiting(putter)
    assert ch.get() == "b"
    putter.join(GUARD)
    assert not putter.is_alive()
    assert [ch.get(), ch.get()] == ["c", "d"] and stats.dropped == 0  # nothing lost, nothing reordered


def test_live_slot_keeps_only_the_newest_frame_and_counts_and_recycles_the_stale_ones():
    recycled: list[str] = []
    ch, stats, _ = channel(live=True, depth=5, on_drop=recycled.append)
    assert ch.depth == 1  # a live source never queues: depth is ignored
    for frame in ("f1", "f2", "f3"):
        ch.wait_for_space()  # a camera never waits for the interpreter
        ch.put(frame)
    assert ch.get() == "f3"
    assert recycled == ["f1", "f2"] and stats.dropped == 2


def test_on_demand_decodes_only_when_the_inference_side_asks():
    ch, _, _ = channel(depth=2, on_demand=True)
    waiter, _ = started(ch.wait_for_space)
    assert still_waiting(waiter), "a paced file must not decode ahead of demand"
    getter, got = started(ch.get)  # the inference side asks for a frame...
    waiter.join(GUARD)
    assert not waiter.is_alive()  # ...which lets the reader decode one
    ch.put("frame")
    getter.join(GUARD)
    assert got == ["frame"]


def test_a_live_source_is_never_on_demand():
    ch, _, _ = channel(live=True, on_demand=True)
    assert not ch.on_demand
    ch.wait_for_space()  # returns at once


def test_close_lets_the_queue_drain_then_says_closed():
    ch, _, _ = channel(depth=2)
    ch.put("last")
    ch.close()
    assert ch.get() == "last"
    with pytest.raises(Closed):
        ch.get()


def test_close_wakes_a_reader_waiting_on_an_empty_queue():
    ch, _, _ = channel()
    getter, got = started(ch.get)
    assert still_waiting(getter)
    ch.close()
    getter.join(GUARD)
    assert len(got) == 1 and isinstance(got[0], Closed)


@pytest.mark.parametrize("wait", ["get", "put", "wait_for_space", "wait_for_space on demand"])
def test_the_stop_event_ends_every_wait(wait):
    ch, _, stop = channel(depth=1, on_demand=wait.endswith("on demand"))
    if wait == "put" or wait == "wait_for_space":
        ch.put("full")
    call = {"get": ch.get, "put": lambda: ch.put("more")}.get(wait, ch.wait_for_space)
    worker, out = started(call)
    assert still_waiting(worker)
    stop.set()
    worker.join(GUARD)
    assert not worker.is_alive(), f"{wait} did not notice the stop event"
    if wait == "get":
        assert isinstance(out[0], Closed)
