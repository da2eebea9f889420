"""Frame sources without a model: the source-string parser, image folders (with a corrupt file), synthetic frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeml.errors import ImageError, InvalidSourceError, SourceError
from edgeml.frame import GRAY, RGB
from edgeml.sources import FrameSource, open_source
from edgeml.sources.base import Pacer
from edgeml.sources.synthetic import colour_bars

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


@pytest.fixture
def photo_dir(tmp_path, photos):
    """Three real photos (skimage) as JPEG and PNG, one grey, plus a truncated JPEG in a sub-folder."""
    Image.fromarray(photos["chelsea"]).save(tmp_path / "a_chelsea.jpg", quality=90)
    Image.fromarray(photos["coffee"]).save(tmp_path / "b_coffee.png")
    Image.fromarray(photos["astronaut"]).convert("L").save(tmp_path / "c_grey.png")
    (tmp_path / "sub").mkdir()
    good = (tmp_path / "a_chelsea.jpg").read_bytes()
    (tmp_path / "sub" / "d_corrupt.jpg").write_bytes(good[: len(good) // 3])
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.mark.parametrize("spec, message", [
    ("webcam:0", "Valid sources: picamera2"),
    ("usb:/dev/video0", "usb takes a camera index"),
    ("v4l2:0", "v4l2 takes a device path"),
    ("picamera2:left", "picamera2 takes a camera index"),
    ("video:", "names no file"),
    ("images:", "names no folder"),
    ("synthetic:640-480", "Write WIDTHxHEIGHT"),
])
def test_bad_source_strings_say_what_is_valid(spec, message):
    with pytest.raises(InvalidSourceError, match=message):
        open_source(spec)


def test_an_option_the_backend_does_not_take_is_refused():
    with pytest.raises(InvalidSourceError, match=r"does not take option\(s\) loop.*It takes: fps, realtime, size"):
        open_source("synthetic", loop=True)


def test_sources_satisfy_the_protocol():
    for spec in ("synthetic", "images:x", "video:x.avi", "usb:0", "v4l2:/dev/video9", "picamera2:1"):
        src = open_source(spec)
        assert isinstance(src, FrameSource), spec
        assert src.name == spec


def test_image_folder_yields_native_formats_and_reports_the_corrupt_file_then_goes_on(photo_dir, photos):
    with open_source(f"images:{photo_dir}") as src:
        assert src.live is False
        first = src.read()
        assert (first.format, first.index, first.source) == (RGB, 0, f"images:{photo_dir}")
        assert first.pixels.shape == photos["chelsea"].shape
        assert np.abs(first.pixels.astype(int) - photos["chelsea"]).mean() < 3  # JPEG q90 of the same photo
        second = src.read()
        assert np.array_equal(second.pixels, photos["coffee"])  # PNG: lossless
        grey = src.read()
        assert grey.format == GRAY and grey.pixels.ndim == 2
        with pytest.raises(ImageError, match="d_corrupt.jpg"):
            src.read()
        assert src.read() is None  # the txt file was never listed; the folder is done
    assert [f.index for f in (first, second, grey)] == [0, 1, 2]


def test_image_glob_loop_and_missing_folder(photo_dir, tmp_path):
    src = open_source(f"images:{photo_dir}/*.png", loop=True)
    with src:
        names = [src.paths[i % 2].name for i in range(4)]
        frames = [src.read() for _ in range(4)]
    assert names == ["b_coffee.png", "c_grey.png"] * 2
    assert [f.index for f in frames] == [0, 1, 2, 3]
    with pytest.raises(SourceError, match="No image files found"):
        open_source(f"images:{tmp_path / 'nothing-here'}").open()


def test_image_folder_reopen_resumes_where_it_stopped(tmp_path):
    for name in ("left01.jpg", "left02.jpg", "left03.jpg"):
        shutil.copy(OPENCV_DATA / name, tmp_path / name)
    src = open_source(f"images:{tmp_path}")
    src.open()
    a = src.read()
    src.close()
    src.open()  # as after a reconnect
    b = src.read()
    assert (a.index, b.index) == (0, 1)
    assert not np.array_equal(a.pixels, b.pixels)


def test_synthetic_pattern_moves_and_costs_no_decode():
    base = colour_bars(64, 48)
    assert base.shape == (48, 64, 3) and base.dtype == np.uint8
    assert tuple(base[0, 0]) == (255, 255, 255) and tuple(base[0, -1]) == (0, 0, 0)  # white ... black bars
    assert base[-1, 0, 0] < base[-1, -1, 0]  # grey ramp below
    with open_source("synthetic:64x48") as src:
        a, b = src.read(), src.read()
    assert src.live is False
    assert a.format == RGB and a.pixels.shape == (48, 64, 3) and (a.index, b.index) == (0, 1)
    assert not np.array_equal(a.pixels, b.pixels)


def test_pacer_reports_frames_a_slow_reader_missed(monkeypatch):
    clock = iter([100.0, 100.0, 100.35])
    monkeypatch.setattr("edgeml.sources.base.time.monotonic", lambda: next(clock))
    monkeypatch.setattr("edgeml.sources.base.time.sleep", lambda s: None)
    pacer = Pacer(10.0)
    assert pacer.wait(0) == 0
    assert pacer.wait(1) == 0  # due at 100.1: waits
    assert pacer.wait(2) == 1  # due at 100.2, now 100.35: one whole frame late
