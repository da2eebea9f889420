"""Image input: every PIL mode and array layout becomes uint8 RGB or grey; bad input gets a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

import edgeml.image.load as image_module
from edgeml.errors import ImageError, InvalidArgumentError
from edgeml.image.load import DEFAULT_MAX_PIXELS, as_array, find_images, load_image, max_pixels, set_max_pixels
from tests.image_cases import blank_png, lab


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


def test_modes_pillow_cannot_turn_into_grey_go_through_rgb(photos):
    """A LAB image (e.g. a LAB TIFF) for a grey model: Pillow converts LAB only to RGB (a ValueError before)."""
    grey = as_array(lab(Image.fromarray(photos["chelsea"])), "L")
    assert grey.shape == photos["chelsea"].shape[:2]
    assert np.abs(grey.astype(int) - as_array(photos["chelsea"], "L")).mean() < 2


@pytest.mark.parametrize("mode", ["RGBa", "La"])
def test_premultiplied_alpha_is_composited_onto_white(mode):
    clear = Image.frombytes(mode, (2, 1), bytes([0] * (len(mode)) + [40] * (len(mode) - 1) + [255]))
    assert as_array(clear, "L").tolist() == [[255, 40]]


def test_float_images_with_nan_become_finite_bytes():
    im = Image.fromarray(np.array([[np.nan, 0.5], [np.inf, 1.0]], np.float32), "F")
    assert as_array(im, "L").tolist() == [[0, 128], [0, 255]]


def test_the_pixel_cap_is_validated_and_read_from_the_environment(monkeypatch):
    monkeypatch.setattr(image_module, "_limit", [])
    assert max_pixels() == DEFAULT_MAX_PIXELS == 40_000_000
    monkeypatch.setenv("EDGEML_MAX_PIXELS", "none")
    assert max_pixels() is None
    monkeypatch.setenv("EDGEML_MAX_PIXELS", "1000")
    assert max_pixels() == 1000
    set_max_pixels(5)
    assert max_pixels() == 5  # the call wins over the environment
    monkeypatch.setenv("EDGEML_MAX_PIXELS", "lots")
    monkeypatch.setattr(image_module, "_limit", [])
    with pytest.raises(InvalidArgumentError, match="EDGEML_MAX_PIXELS must be a positive number of pixels"):
        max_pixels()
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidArgumentError, match="max_pixels must be a positive integer or None"):
            set_max_pixels(bad)


def test_a_jpeg_above_the_cap_is_decoded_smaller_by_the_jpeg_decoder(tmp_path, photos, monkeypatch):
    path = tmp_path / "cat.jpg"
    Image.fromarray(photos["chelsea"]).save(path, quality=95)
    monkeypatch.setattr(image_module, "_limit", [5_000])  # 451x300: 1/4 is 113x75 = 8475 px, 1/8 is 57x38
    pixels = load_image(path)
    assert pixels.shape == (38, 57, 3)
    small = np.asarray(Image.fromarray(photos["chelsea"]).resize((57, 38), Image.Resampling.BOX))
    assert np.abs(pixels.astype(int) - small).mean() < 8  # the same picture, smaller


def test_pillows_bomb_warning_never_reaches_the_user(tmp_path, monkeypatch):
    """A 100 MP PNG is past Pillow's warning (89 MP) and edgeml's cap: our error, and no stray warning."""
    monkeypatch.setattr(image_module, "_limit", [])
    path = tmp_path / "huge.png"
    path.write_bytes(blank_png(10000, 10000))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match=r"is 10000x10000 \(100 megapixels\), above edgeml's cap"):
            load_image(path)
    assert [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)] == []


def test_a_144_megapixel_png_is_refused_without_allocating_it(tmp_path):
    """Was: a 140 KB file decoded into 1.7 GB. Now its header is enough (peak RSS measured in a fresh process)."""
    path = tmp_path / "big.png"
    Image.new("L", (12000, 12000)).save(path)
    assert path.stat().st_size < 200_000
    code = ("import resource, sys; from edgeml.image.load import load_image; from edgeml.errors import ImageError\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    load_image(sys.argv[1])\nexcept ImageError as exc:\n    print(exc)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "EDGEML_MAX_PIXELS"})
    message, grown_mb = proc.stdout.splitlines()
    assert "is 12000x12000 (144 megapixels), above edgeml's cap of 40 megapixels" in message
    assert int(grown_mb) < 50, proc.stdout


def test_the_first_frame_warning_is_said_once_per_process(tmp_path, photos, monkeypatch, caplog):
    monkeypatch.setattr(image_module, "_said", set())
    frames = [Image.fromarray(photos["chelsea"]), Image.fromarray(photos["astronaut"][:300, :451])]
    for name in ("a.gif", "b.gif"):
        frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:])
    for name in ("a.gif", "b.gif", "a.gif"):
        load_image(tmp_path / name)
    said = [r.getMessage() for r in caplog.records if "several frames" in r.getMessage()]
    assert len(said) == 1 and "a.gif" in said[0]
