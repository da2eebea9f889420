"""The stream's watchdog and reconnect policy as pure logic: which call is overdue, and when to give up."""

from __future__ import annotations

import threading

import pytest

from edgeml.errors import InvalidArgumentError, SourceError, StreamStalledError
from edgeml.streaming.reconnect import Reconnect
from edgeml.streaming.watchdog import INVOKE_TIMEOUT, SOURCE_TIMEOUT, StageClock, watch


class Clock:
    """Seconds set by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_defaults_are_frigates():
    assert (SOURCE_TIMEOUT, INVOKE_TIMEOUT) == (20.0, 10.0)


def test_only_a_call_still_running_past_its_limit_is_overdue():
    clock = Clock()
    stages = StageClock({"source": 20.0, "invoke": 10.0}, clock)
    assert stages.overdue() is None
    stages.begin("invoke", "invoke()")
    clock.now += 9.9
    assert stages.overdue() is None
    clock.now += 0.2
    assert stages.overdue() == ("invoke", "invoke()", pytest.approx(10.1))
    stages.end("invoke")  # it returned after all: nothing is stuck
    assert stages.overdue() is None
    clock.now += 1000  # idle time between calls never counts
    assert stages.overdue() is None
    stages.begin("source", "read()")
    clock.now += 25
    error = stages.stalled_error("usb:0")
    assert isinstance(error, StreamStalledError) and isinstance(error, TimeoutError)
    assert error.stage == "source" and error.seconds == pytest.approx(25)
    assert str(error).startswith("Source 'usb:0' is stuck: its read() has not returned for 25.0 s (limit 20 s)")


def test_a_stage_without_a_limit_is_not_watched():
    clock = Clock()
    stages = StageClock({"source": None, "invoke": 1.0}, clock)
    stages.begin("source", "open()")
    clock.now += 1e6
    assert stages.overdue() is None and stages.watching
    assert not StageClock({"source": None, "invoke": None}).watching
    assert StageClock({"source": 0.02, "invoke": 10.0}).poll_interval() == 0.01
    assert StageClock({"source": 20.0, "invoke": 10.0}).poll_interval() == 1.0


def test_the_watch_loop_reports_once_and_returns():
    stages = StageClock({"invoke": 0.05})
    stop, seen = threading.Event(), []
    stages.begin("invoke", "invoke()")
    watch(stages, "synthetic", stop, seen.append)
    assert len(seen) == 1 and seen[0].stage == "invoke"
    assert "The model is stuck: invoke() on a frame of 'synthetic'" in str(seen[0])


def test_reconnect_backs_off_and_a_source_that_never_delivered_gives_up_early():
    never = Reconnect("usb:7", retries=None, startup_retries=5)
    delays = [never.failed(SourceError("Cannot open camera 'usb:7'")) for _ in range(5)]
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.6]
    with pytest.raises(SourceError, match=r"'usb:7' never delivered a frame: 6 attempts failed over .* giving up\. "
                                          r"Last error: Cannot open camera 'usb:7'"):
        never.failed(SourceError("Cannot open camera 'usb:7'"))


def test_reconnect_is_forever_for_a_live_source_that_has_delivered():
    camera = Reconnect("usb:0", retries=None, startup_retries=1)
    camera.frame_arrived()
    delays = [camera.failed(OSError("unplugged")) for _ in range(50)]
    assert delays[:3] == [0.1, 0.2, 0.4] and max(delays) == 5.0
    camera.frame_arrived()
    assert camera.failures == 0


def test_reconnect_of_a_file_gives_up_after_its_retries():
    folder = Reconnect("images:x", retries=2)
    folder.frame_arrived()
    folder.failed(OSError("gone"))
    folder.failed(OSError("gone"))
    with pytest.raises(SourceError, match="'images:x' failed 3 times in a row; giving up. Last error: gone"):
        folder.failed(OSError("gone"))
    assert Reconnect("x", retries=1, startup_retries=5).startup_retries == 1


@pytest.mark.parametrize("option", [{"source_timeout": 0}, {"invoke_timeout": -1.0}, {"startup_retries": -1}])
def test_bad_watchdog_options_are_refused(option):
    from edgeml.streaming.loop import _check_options

    with pytest.raises(InvalidArgumentError, match=f"{next(iter(option))} must be"):
        kwargs = {"source_timeout": 20.0, "invoke_timeout": 10.0, "startup_retries": 5, **option}
        _check_options(5, 0.0, None, None, None, **kwargs)
