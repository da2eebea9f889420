"""The streaming loop on real sources and the real interpreter: hand-over policy, faults, reconnects, API."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import edgeml
from edgeml import Classifier
from edgeml.errors import SourceError
from edgeml.sources import open_source
from edgeml.streaming import Stream
from tests.doubles.picamera2_double import make_module

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
OPENCV_DATA = VTEST.parent


@pytest.fixture(scope="module")
def clf(fashion_int8):
    return Classifier(fashion_int8, num_threads=1)


@pytest.fixture
def vtest():
    pytest.importorskip("cv2")
    if not VTEST.is_file():
        pytest.skip("needs Debian's opencv-doc (make test installs it)")
    return VTEST


def _indices(results):
    return [r.index for r in results if r.error is None]


class FlakySource:
    """Wraps a real source: reads number ``fail_at`` .. ``fail_at + failures - 1`` raise, as a USB camera that
    drops off the bus and comes back. Not a double: the frames are the wrapped source's."""

    def __init__(self, inner, fail_at: int, failures: int) -> None:
        self.inner, self.fail_at, self.failures = inner, fail_at, failures
        self.name, self.live = inner.name, inner.live
        self.reads = self.opens = 0

    def open(self) -> None:
        self.opens += 1
        self.inner.open()

    def read(self):
        self.reads += 1
        if self.fail_at <= self.reads < self.fail_at + self.failures:
            raise SourceError(f"{self.name}: device disconnected (injected, read {self.reads})")
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()


def test_iterator_api_on_a_video_file_classifies_every_frame_in_order(clf, vtest):
    results = list(edgeml.stream(f"video:{vtest}", clf, top_k=2, max_frames=60))
    assert _indices(results) == list(range(60))  # back-pressure: nothing skipped, nothing dropped
    r = results[0]
    assert len(r.results) == 2 and r.results[0].score >= r.results[1].score
    assert r.latency_ms > 0 and r.timings["invoke"] > 0 and r.frame is None  # frames are not kept by default
    d = r.to_dict()
    assert list(d)[:4] == ["frame", "timestamp", "results", "latency_ms"]
    assert abs(d["timestamp"] - results[-1].timestamp) < 60


def test_a_video_plays_on_every_opencv_we_support_and_says_when_decoder_threads_cannot_be_set(vtest, caplog):
    """OpenCV 4.7+ takes CAP_PROP_N_THREADS at open (one decoder thread by default); 4.5 and 4.6 (Raspberry Pi OS
    Bullseye and Bookworm's apt python3-opencv) have no such property: the file still plays, with an INFO note."""
    import cv2

    from edgeml.sources import video

    video._noted.clear()
    with caplog.at_level(logging.INFO, logger="edgeml.sources.video"), open_source(f"video:{vtest}") as src:
        frames = [src.read() for _ in range(5)]
    assert [f.index for f in frames] == list(range(5)) and frames[0].pixels.shape == (576, 768, 3)
    notes = [r.getMessage() for r in caplog.records if "decoder threads" in r.getMessage()]
    if hasattr(cv2, "CAP_PROP_N_THREADS"):
        assert notes == [] and video.VideoSource(vtest)._open_params(cv2) == ([cv2.CAP_PROP_N_THREADS, 1],)
    else:
        assert notes == [f"OpenCV {cv2.__version__} cannot set FFmpeg's decoder threads (CAP_PROP_N_THREADS needs "
                         "OpenCV 4.7+); decoding vtest.avi with FFmpeg's default of one thread per core."]


def test_callback_api_and_stats(clf, vtest):
    seen = []
    s = Stream(f"video:{vtest}", clf, max_frames=25, on_result=seen.append)
    stats = s.run()
    assert [r.index for r in seen] == list(range(25))
    assert stats.frames == 25 and stats.dropped == 0 and stats.errors == 0
    assert stats.captured <= 25 + 2  # back-pressure: at most the two-frame queue was decoded ahead
    assert stats.fps > 0 and 0 < stats.latency_ms(50) <= stats.latency_ms(95)
    assert set(stats.to_dict()) >= {"fps", "latency_p50_ms", "latency_p95_ms", "dropped"}


def test_truncated_video_ends_cleanly_and_says_so(clf, vtest, tmp_path, caplog):
    short = tmp_path / "cut.avi"
    data = vtest.read_bytes()
    short.write_bytes(data[: len(data) * 2 // 5])  # cut mid-stream, index and all
    with open_source(f"video:{short}") as src:
        decodable = 0
        while src.read() is not None:
            decodable += 1
    assert 0 < decodable < 795
    caplog.set_level(logging.WARNING, logger="edgeml.sources.video")
    s = edgeml.stream(f"video:{short}", clf, top_k=1)
    results = list(s)
    assert _indices(results) == list(range(decodable))
    assert s.stats.dropped == 0 and s.source.truncated
    assert "truncated" in caplog.text and "of the 795 frames" in caplog.text


def test_folder_with_a_corrupt_image_reports_it_and_classifies_the_rest(clf, tmp_path):
    names = ["left01.jpg", "fruits.jpg", "baboon.jpg", "chicky_512.png"]
    for name in names:
        shutil.copy(OPENCV_DATA / name, tmp_path / name)
    good = (tmp_path / "fruits.jpg").read_bytes()
    (tmp_path / "e_corrupt.jpg").write_bytes(good[:600])
    s = edgeml.stream(f"images:{tmp_path}", clf, top_k=1)
    results = list(s)
    errors = [r for r in results if r.error]
    assert len(results) == 5 and len(errors) == 1 and "e_corrupt.jpg" in errors[0].error
    assert _indices(results) == [0, 1, 2, 3]
    assert (s.stats.frames, s.stats.errors, s.stats.dropped) == (4, 1, 0)


def test_a_source_failing_n_times_is_reopened_and_nothing_is_lost(clf, tmp_path):
    for i, name in enumerate(["left01.jpg", "left02.jpg", "left03.jpg", "left04.jpg", "left05.jpg", "left06.jpg"]):
        shutil.copy(OPENCV_DATA / name, tmp_path / f"{i}_{name}")
    flaky = FlakySource(open_source(f"images:{tmp_path}"), fail_at=3, failures=3)
    s = Stream(flaky, clf, top_k=1)
    results = list(s)
    assert _indices(results) == list(range(6))  # the folder resumed where it stopped: every file classified once
    assert (s.stats.read_failures, s.stats.reconnects, s.stats.dropped) == (3, 3, 0)
    assert flaky.opens == 4


def test_a_source_that_stays_down_gives_up_after_the_retries(clf, tmp_path):
    shutil.copy(OPENCV_DATA / "left01.jpg", tmp_path / "a.jpg")
    flaky = FlakySource(open_source(f"images:{tmp_path}"), fail_at=1, failures=100)
    s = Stream(flaky, clf, retries=2)
    with pytest.raises(SourceError, match="device disconnected"):
        list(s)
    assert s.stats.read_failures == 3 and s.stats.frames == 0


def test_live_camera_drops_stale_frames_counts_every_one_and_never_queues(clf, monkeypatch, photos):
    """A 200 fps camera read by a loop limited to 20 classifications/s: each frame is classified or counted."""
    monkeypatch.setitem(sys.modules, "picamera2", make_module(photos["chelsea"], "VC4", fps=200.0))
    s = Stream("picamera2", clf, top_k=1, fps=20, max_frames=10, size=(clf.width, clf.height))
    results = list(s)
    idx = _indices(results)
    assert len(idx) == 10 and idx == sorted(set(idx)) and idx[-1] > 30
    produced = s.source._next_index  # frames the camera delivered or skipped, by its own numbering
    pending = produced - s.stats.frames - s.stats.dropped
    assert s.stats.dropped > 20 and pending in (0, 1)  # at most the frame in the slot at stop is unaccounted
    assert max(r.latency_ms for r in results) < 1000 / 20 + 50  # results are fresh, not a queue's backlog


def test_realtime_video_is_live_and_stop_ends_it_promptly(clf, vtest):
    s = Stream(f"video:{vtest}", clf, realtime=True)
    assert s.source.live
    got = []
    timer = threading.Timer(0.5, s.stop)
    timer.start()
    for r in s:
        got.append(r.index)
    timer.cancel()
    assert 2 <= len(got) <= 10  # 10 fps file, stopped after half a second
    assert not s.running and s.join(0.1)


def test_picamera_frames_through_the_classifier_match_the_photo(fashion, clf, monkeypatch):
    """The double shows a Fashion-MNIST trouser; the I420 lores frames (28x28, padded rows) classify as Trouser."""
    item = np.asarray(Image.open(next(fashion.test_dir.glob("1_*/*.png"))).convert("RGB"))
    monkeypatch.setitem(sys.modules, "picamera2", make_module(item, "VC4", fps=100.0))
    results = list(edgeml.stream("picamera2", clf, top_k=1, max_frames=3, size=(clf.width, clf.height)))
    assert [r.results[0].label for r in results] == ["Trouser"] * 3
    assert results[0].timings["preprocess"] >= 0


def test_preparing_on_the_capture_thread_gives_the_same_answers_as_inline(clf, vtest):
    split = list(edgeml.stream(f"video:{vtest}", clf, top_k=3, max_frames=20, prepare="capture"))
    inline = list(edgeml.stream(f"video:{vtest}", clf, top_k=3, max_frames=20, prepare="inference"))
    assert [r.results for r in split] == [r.results for r in inline]
    assert split[0].timings["preprocess"] > 0 and inline[0].timings["preprocess"] > 0
    with pytest.raises(ValueError, match="prepare must be"):
        Stream("synthetic", clf, prepare="gpu")


def test_an_absent_usb_camera_is_retried_with_back_off_then_reported(clf):
    pytest.importorskip("cv2")
    if Path("/dev/video99").exists():
        pytest.skip("a /dev/video99 exists here")
    s = Stream("v4l2:/dev/video99", clf, retries=2)
    assert s.source.live
    with pytest.raises(SourceError, match="Cannot open camera 'v4l2:/dev/video99'"):
        list(s)
    assert s.stats.read_failures == 3 and s.stats.reconnects == 0 and s.stats.frames == 0


def test_leaving_the_loop_early_stops_the_threads(clf):
    s = edgeml.stream("synthetic", clf, top_k=1)
    for result in s:
        assert result.index == 0
        break
    assert s.join(5.0) and not s.running  # the generator's cleanup stopped and joined both threads
