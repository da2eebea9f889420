"""edgeml.run: one composition for every command (board, store start, runner, both sides of the settings, stream)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeml.errors import BoardProfileError
from edgeml.run import RunSpec, open_run, open_runner, resolve_board, source_options

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_int8.tflite"


def test_images_only_run_has_no_stream_and_the_runners_settings():
    run = open_run(RunSpec(model=TINY, board=None, threads=1))
    assert run.stream is None and run.start_note is None
    assert run.settings is run.runner.settings and run.settings.threads == 1
    assert run.settings.origin("threads") == "argument"


def test_stream_run_resolves_both_sides_once_and_streams():
    run = open_run(RunSpec(model=TINY, board="rpi-5", threads=1, source="synthetic", max_frames=3, top_k=1))
    s = run.settings
    assert s.source == "synthetic" and s.origin("source") == "argument"
    assert s.camera_format == "RGB888" and s.origin("camera_format").startswith("board rpi-5")
    assert s.threads == 1 and s.board == "rpi-5" and s.preprocessing == run.runner.settings.preprocessing
    lines = {line.split()[0] for line in s.describe()}
    assert {"threads", "device", "source", "camera_format"} <= lines
    results = list(run.stream)
    assert [r.index for r in results] == [0, 1, 2] and all(len(r.results) == 1 for r in results)


def test_source_options_follow_the_source_and_the_model():
    run = open_run(RunSpec(model=TINY, board=None))
    clf, settings = run.runner, run.settings
    spec = RunSpec(model=TINY, loop=True, window=True, source="picamera2", camera_format="YUV420")
    pi = source_options(spec, clf, settings.__class__(source="picamera2", camera_format="YUV420"))
    assert pi == {"loop": True, "realtime": False, "size": (clf.width, clf.height), "preview": True,
                  "lores_format": "YUV420"}
    assert source_options(spec, clf, settings.__class__(source="video:a.mp4")) == {"loop": True, "realtime": False}


def test_boards_resolve_once_and_unknown_names_fail():
    assert resolve_board(None) is None
    profile = resolve_board("rpi-4b")
    assert resolve_board(profile) is profile
    with pytest.raises(BoardProfileError):
        resolve_board("no-such-board")


def test_open_runner_builds_other_runners():
    from edgeml import Classifier

    clf = open_runner(RunSpec(model=TINY, threads=1), None)
    assert isinstance(clf, Classifier) and clf.num_threads == 1
    seen = {}

    def runner(model, **kwargs):
        seen.update(kwargs, model=model)
        return clf

    assert open_runner(RunSpec(model=TINY, threads=2, device="cpu"), "BOARD", runner) is clf
    assert seen == {"model": TINY, "num_threads": 2, "device": "cpu", "fallback": None, "board": "BOARD"}
