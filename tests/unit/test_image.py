"""Image input: every PIL mode and array layout becomes uint8 RGB or grey; bad input gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeml.errors import ImageError
from edgeml.image import as_array, find_images, load_image


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P", "CMYK", "I;16", "1", "YCbCr"])
def test_every_pil_mode_becomes_rgb_uint8(mode, photos):
    im = Image.fromarray(photos["chelsea"]).convert(mode) if mode != "I;16" else Image.fromarray(
        photos["chelsea"][:, :, 0].astype(np.uint16) * 257)
    arr = as_array(im)
    assert arr.dtype == np.uint8 and arr.shape == (*photos["chelsea"].shape[:2], 3)
    assert arr.flags.c_contiguous


def test_transparent_pixels_become_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    assert (as_array(rgba) == 255).all()


def test_sixteen_bit_grey_is_scaled_not_clipped():
    im = Image.fromarray(np.full((2, 2), 65535, np.uint16))
    assert (as_array(im, "L") == 255).all()


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3), (5, 7, 4)])
def test_array_layouts(shape):
    arr = np.full(shape, 100, np.uint8)
    assert as_array(arr).shape == (5, 7, 3)
    assert as_array(arr, "L").shape == (5, 7)


def test_rgb_array_is_not_copied():
    arr = np.zeros((5, 7, 3), np.uint8)
    assert as_array(arr) is arr


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((5, 7, 3), np.float32), "must be uint8.*float32"),
        (np.zeros((5, 7, 2), np.uint8), r"Received: shape=\(5, 7, 2\)"),
        (np.zeros((1, 5, 7, 3), np.uint8), "shape=\\(1, 5, 7, 3\\)"),
        (np.zeros((0, 7, 3), np.uint8), "empty"),
        ([1, 2, 3], "Received: list"),
    ],
)
def test_bad_arrays(bad, match):
    with pytest.raises(ImageError, match=match):
        as_array(bad)


def test_a_text_file_is_not_an_image(tmp_path):
    f = tmp_path / "notes.jpg"
    f.write_text("not an image")
    with pytest.raises(ImageError, match="is not an image"):
        load_image(f)


def test_truncated_jpeg_is_reported(tmp_path, photos):
    f = tmp_path / "cut.jpg"
    Image.fromarray(photos["coffee"]).save(f)
    f.write_bytes(f.read_bytes()[:2000])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(f)


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    f = tmp_path / "rot.jpg"
    im.save(f, exif=exif)
    assert load_image(f).shape == (40, 20, 3)


def test_find_images_is_recursive_and_sorted(tmp_path):
    for rel in ["b/2.png", "a/1.JPG", "a/skip.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == ["a/1.JPG", "b/2.png"]
    with pytest.raises(ImageError, match="Not a directory"):
        find_images(tmp_path / "missing")
