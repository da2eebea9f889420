"""Streams under faults: a read or an invoke that never returns (the watchdog), cameras that are absent or
vanish, files that are not videos, folders of corrupt images and decompression bombs. Each ends as documented:
reported, skipped or reconnected, with the stats counting it, and the process alive (or exiting 1 in one line)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import edgeml
from edgeml import Classifier
from edgeml.errors import SourceError, StreamStalledError
from edgeml.streaming import Stream
from tests.blocking_source import BlockingSource, VanishingSource
from tests.conftest import CACHE, ROOT, run_cli
from tests.image_cases import blank_png

TINY = str(ROOT / "tests" / "data" / "tiny_int8.tflite")
LITE0 = CACHE / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
HAS_CV2 = importlib.util.find_spec("cv2") is not None
needs_cv2 = pytest.mark.skipif(not HAS_CV2, reason="needs OpenCV (pip install 'edgeml[opencv]')")


@pytest.fixture(scope="module")
def clf():
    return Classifier(TINY, num_threads=1)


def test_a_read_that_never_returns_is_reported_by_the_watchdog(clf):
    src = BlockingSource(frames=3, live=False)  # read at the reader's pace: no frame dropped
    s = Stream(src, clf, top_k=1, source_timeout=0.3)
    results = []
    start = time.monotonic()
    try:
        with pytest.raises(StreamStalledError, match=r"Source 'blocking' is stuck: its read\(\) has not returned"
                                                     r" for 0\.\d s \(limit 0\.3 s\)") as info:
            for r in s:
                results.append(r)
    finally:
        src.release.set()  # let the stuck thread go, so the test leaves nothing behind
    assert time.monotonic() - start < 5
    assert [r.index for r in results] == [0, 1, 2] and s.stats.frames == 3
    assert info.value.stage == "source" and info.value.seconds >= 0.3 and s.stalled
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    assert isinstance(info.value, TimeoutError)


@pytest.fixture
def lite0_int8() -> Path:
    """The cached int8 EfficientNet-Lite0, looked for when the test runs: tests/converter (which runs first in a full
    run) builds it, so a fresh checkout's first run uses it too; a run without it skips."""
    if not LITE0.is_file():
        pytest.skip(f"needs the cached int8 EfficientNet-Lite0 at {LITE0} (tests/converter builds it)")
    return LITE0


def test_an_invoke_running_past_its_limit_is_reported_by_the_watchdog(lite0_int8):
    """A real invoke() of EfficientNet-Lite0 (~15 ms here) against a 2 ms limit: the watchdog cannot tell slow
    from stuck, only that the call is still running past the limit, which is exactly what it must report."""
    lite0 = Classifier(lite0_int8, num_threads=1)
    s = Stream("synthetic", lite0, top_k=1, invoke_timeout=0.002, max_frames=500)
    with pytest.raises(StreamStalledError, match=r"The model is stuck: invoke\(\) on a frame of 'synthetic' has "
                                                 r"not returned for .* s \(limit 0\.002 s\)") as info:
        list(s)
    assert info.value.stage == "invoke" and s.stats.frames < 500


def test_the_watchdog_does_not_fire_on_a_healthy_stream_or_while_reconnecting(clf):
    src = VanishingSource(frames=2, outage=3)  # 0.1 + 0.2 + 0.4 s of back-off: longer than the limit
    s = Stream(src, clf, top_k=1, max_frames=4, source_timeout=0.25, invoke_timeout=0.25)
    results = list(s)  # a live source: stale frames are dropped, so which indices are classified varies
    assert len(results) == 4 and results[-1].index >= 2 and all(r.error is None for r in results)
    assert not s.stalled and s.stats.read_failures == 3


def test_a_camera_that_vanishes_after_delivering_keeps_reconnecting_past_the_startup_limit(clf):
    src = VanishingSource(frames=3, outage=4)
    s = Stream(src, clf, top_k=1, max_frames=6, startup_retries=1)  # live: retries forever once frames came
    results = list(s)
    assert len(results) == 6 and results[-1].index >= 3  # frames after the outage (a live source drops stale ones)
    assert s.stats.read_failures == 4 and s.stats.reconnects >= 1 and s.stats.errors == 0


def test_a_source_that_never_delivers_fails_after_bounded_attempts(clf):
    src = VanishingSource(frames=0, outage=100)
    src.opens = 1  # as if opened before: every open and read fails
    s = Stream(src, clf, startup_retries=2)
    with pytest.raises(SourceError, match=r"'vanishing' never delivered a frame: 3 attempts failed over 0\.\d s; "
                                          r"giving up\. Last error: "):
        list(s)
    assert (s.stats.read_failures, s.stats.frames, s.stats.reconnects) == (3, 0, 0)


@pytest.mark.parametrize("source", ["usb:7", "v4l2:/dev/video99"])
def test_an_absent_camera_exits_1_in_one_line_instead_of_retrying_forever(source):
    if Path("/dev/video7").exists() or Path("/dev/video99").exists():
        pytest.skip("this machine has a /dev/video7 or /dev/video99")
    start = time.monotonic()
    proc = run_cli("classify", "-m", TINY, "--source", source, "--board", "none")
    assert time.monotonic() - start < 60
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr
    if HAS_CV2:
        assert f"'{source}' never delivered a frame: 6 attempts failed" in errors[0]
        assert "0 frames" in proc.stderr and "read failures 6" in proc.stderr  # the stats line
    else:
        assert "pip install" in errors[0]
    assert len(errors[0]) < 600


def test_a_stuck_source_in_the_cli_prints_the_error_and_stats_and_exits_1(tmp_path):
    script = "import sys; from tests.blocking_source import install; install(); from edgeml.cli import main; " \
             "sys.exit(main(sys.argv[1:]))"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script, "classify", "-m", TINY, "--board", "none", "--source",
                           "blocking:4", "--json", "--source-timeout", "0.5"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert time.monotonic() - start < 30
    assert proc.returncode == 1, proc.stderr
    assert [json.loads(line)["frame"] for line in proc.stdout.splitlines()] == [0, 1, 2, 3]
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "its read() has not returned for" in errors[0] and "Traceback" not in proc.stderr
    assert "4 frames in" in proc.stderr  # the stats line


@needs_cv2
@pytest.mark.parametrize("content", [b"", b"not a video at all\n", "head"], ids=["empty", "text", "cut-in-header"])
def test_a_file_that_is_not_a_video_exits_1_in_one_line(tmp_path, content):
    if content == "head":
        if not VTEST.is_file():
            pytest.skip("needs Debian's opencv-doc (make test installs it)")
        content = VTEST.read_bytes()[:4096]  # the AVI header and index start, no frame
    path = tmp_path / "clip.avi"
    path.write_bytes(content)
    proc = run_cli("classify", "-m", TINY, "--board", "none", "--source", f"video:{path}")
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr
    assert "never delivered a frame" in errors[0] and str(path) in errors[0]


def test_a_folder_of_bombs_and_corrupt_files_is_reported_file_by_file_and_the_rest_classified(tmp_path, photos):
    """Four decompression bombs used to end an images: stream (Pillow's own error was taken for a dead source)."""
    Image.fromarray(photos["chelsea"]).save(tmp_path / "a_cat.jpg")
    for i in range(4):
        (tmp_path / f"b_bomb{i}.png").write_bytes(blank_png(20000, 20000))  # 400 MP: past Pillow's own limit
    (tmp_path / "c_big.png").write_bytes(blank_png(9000, 9000))  # 81 MP: past edgeml's cap, under Pillow's
    good = (tmp_path / "a_cat.jpg").read_bytes()
    (tmp_path / "d_cut.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "e_empty.png").write_bytes(b"")
    Image.fromarray(photos["coffee"]).save(tmp_path / "f_coffee.png")
    s = edgeml.stream(f"images:{tmp_path}", Classifier(TINY), top_k=1)
    results = list(s)
    errors = [r.error for r in results if r.error]
    assert len(results) == 9 and len(errors) == 7 and (s.stats.frames, s.stats.errors) == (2, 7)
    assert s.stats.read_failures == 0  # every bad file was an item error, never a failure of the source
    assert sum("decompression-bomb limit" in e for e in errors) == 4
    assert any("9000x9000 (81 megapixels), above edgeml's cap of 40 megapixels" in e for e in errors)
    assert all(e.endswith("Skipped.") and "\n" not in e for e in errors)


def test_the_cli_batch_goes_on_past_a_bomb(tmp_path, photos):
    cat = tmp_path / "cat.png"
    Image.fromarray(photos["chelsea"]).save(cat)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(blank_png(20000, 20000))
    proc = run_cli("classify", "-m", TINY, "--board", "none", "--json", str(bomb), str(cat))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert [json.loads(line)["path"] for line in proc.stdout.splitlines()] == [str(cat)]
    assert proc.stderr.count("\n") == 1 and "decompression-bomb limit" in proc.stderr


def test_max_megapixels_raises_the_cap_for_the_cli(tmp_path):
    big = tmp_path / "wide.png"
    Image.fromarray(np.full((100, 200), 128, np.uint8)).save(big)
    refused = run_cli("classify", "-m", TINY, "--board", "none", "--max-megapixels", "0.01", str(big))
    assert refused.returncode == 1 and "is 200x100 (0.02 megapixels), above edgeml's cap of 0.01" in refused.stderr
    allowed = run_cli("classify", "-m", TINY, "--board", "none", "--max-megapixels", "0.03", str(big))
    assert allowed.returncode == 0, allowed.stderr
