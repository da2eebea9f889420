"""The picamera2 backend against Picamera2Double (picamera2's documented API, real photo pixels, padded strides)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from edgeml.errors import MissingDependencyError, SourceError
from edgeml.frame import BGR, BGRX, I420
from edgeml.sources import open_source
from edgeml.sources.picam import lores_size
from tests.doubles.picamera2_double import make_module, rgb_to_i420


def _install(monkeypatch, photo, platform="VC4", **kwargs):
    module = make_module(photo, platform, **kwargs)
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return module.Picamera2


def _unpad_i420(frame):
    """Planes of a stride-padded I420 frame, cropped to the visible size."""
    px, w, h = frame.pixels, frame.width, frame.height
    stride = px.shape[1]
    u = px[h:h + h // 4].reshape(h // 2, stride // 2)[:, : w // 2]
    v = px[h + h // 4:].reshape(h // 2, stride // 2)[:, : w // 2]
    return px[:h, :w], u, v


@pytest.mark.parametrize("size, main, expected", [
    ((224, 224), (640, 480), (224, 224)),
    ((227, 227), (640, 480), (228, 228)),   # odd: the ISP needs even sizes
    ((320, 320), (640, 240), (320, 240)),   # lores may not exceed main
    ((28, 28), (28, 28), (28, 28)),
])
def test_lores_size_is_even_and_within_main(size, main, expected):
    assert lores_size(size, main) == expected


def test_pi4_vc4_gives_i420_with_stride_padding_holding_the_photo(monkeypatch, photos):
    cls = _install(monkeypatch, photos["chelsea"], "VC4")
    with open_source("picamera2", size=(224, 224)) as src:
        frame = src.read()
        cam = cls.opened[0]
        assert cam.camera_config["lores"]["format"] == "YUV420"
        assert cam.camera_config["queue"] is False and cam.camera_config["buffer_count"] == 4
    assert (frame.format, frame.width, frame.height) == (I420, 224, 224)
    assert frame.pixels.shape == (336, 256)  # rows padded to a 64-byte stride: the source did not copy them away
    expected = rgb_to_i420(np.asarray(Image.fromarray(photos["chelsea"]).resize((224, 224), Image.BILINEAR)))
    for got, want in zip(_unpad_i420(frame), expected, strict=True):
        assert np.array_equal(got, want)
    assert cam.closed and cam._outstanding == 0  # every request released, camera closed


def test_pi5_rgb888_is_bgr_bytes_as_a_strided_view_without_a_second_copy(monkeypatch, photos):
    _install(monkeypatch, photos["coffee"], "PISP")
    with open_source("picamera2", size=(225, 160)) as src:
        frame = src.read()
        assert src.lores["stride"] > 3 * src.lores["size"][0]
    assert (frame.format, frame.width, frame.height) == (BGR, 226, 160)
    assert frame.pixels.shape == (160, 226, 3) and frame.pixels.strides[0] == src.lores["stride"]
    rgb = np.asarray(Image.fromarray(photos["coffee"]).resize((226, 160), Image.BILINEAR))
    assert np.array_equal(frame.pixels, rgb[..., ::-1])


def test_preview_keeps_the_main_stream(monkeypatch, photos):
    _install(monkeypatch, photos["astronaut"], "PISP")
    with open_source("picamera2", size=(224, 224), preview=True) as src:
        assert src.preview_image() is None
        src.read()
        main = src.preview_image()
    assert main.format == BGRX and (main.width, main.height) == (640, 480)


def test_frames_the_reader_missed_leave_gaps_in_the_index(monkeypatch, photos):
    _install(monkeypatch, photos["chelsea"], "VC4", fps=200.0)
    with open_source("picamera2:0", size=(64, 64)) as src:
        first = src.read()
        import time
        time.sleep(0.1)  # about 20 sensor frames go by unread
        second = src.read()
    assert first.index == 0 and second.index >= 10


def test_missing_camera_failed_capture_and_missing_package(monkeypatch, photos):
    _install(monkeypatch, photos["chelsea"], num_cameras=1, fail_reads=1)
    with pytest.raises(SourceError, match="Cannot open Raspberry Pi camera 1"):
        open_source("picamera2:1").open()
    with open_source("picamera2") as src, pytest.raises(SourceError, match="stopped delivering frames"):
        src.read()
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(MissingDependencyError, match="python3-picamera2"):
        open_source("picamera2").open()
