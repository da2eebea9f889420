"""On a Raspberry Pi with a camera: the picamera2 source delivers lores frames at the asked size. Skips elsewhere."""

from __future__ import annotations

import importlib.util

import pytest

from edgeml.frame import BGR, I420
from edgeml.sources import open_source

pytestmark = pytest.mark.hardware


@pytest.fixture
def picamera2():
    if importlib.util.find_spec("picamera2") is None:
        pytest.skip("picamera2 is not installed (sudo apt install python3-picamera2)")
    import picamera2

    if not picamera2.Picamera2.global_camera_info():
        pytest.skip("no Raspberry Pi camera attached")
    return picamera2


def test_real_camera_lores_frames(picamera2):
    with open_source("picamera2:0", size=(224, 224)) as src:
        frames = [src.read() for _ in range(10)]
    first = frames[0]
    assert first.format in (I420, BGR)
    assert (first.width, first.height) == (224, 224)
    assert first.pixels.shape[1] >= 224  # stride-padded rows are allowed, never narrower
    assert [f.index for f in frames] == sorted({f.index for f in frames})
    assert frames[-1].timestamp > first.timestamp
    assert first.pixels.std() > 0  # a real image, not a blank buffer
