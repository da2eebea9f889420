"""The offline photo set (scikit-image, scikit-learn, opencv-doc) gathered into one folder for calibration."""

from __future__ import annotations

import pytest

from edgeml.image.load import load_image
from edgeml_converters.datasets import photos


def test_write_folder_copies_every_photo_once_and_they_decode(tmp_path):
    files = photos.photo_files()
    if not files:
        pytest.skip("no photo source installed (scikit-image, scikit-learn or opencv-doc)")
    out = photos.write_folder(tmp_path / "photos")
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(files)
    assert photos.write_folder(out) == out and len(list(out.iterdir())) == len(files)  # second call: no change
    assert all(load_image(out / name).shape[2] == 3 for name in written[:5])


def test_skimage_photos_are_found_without_download():
    pytest.importorskip("skimage")
    files = photos.photo_files()
    assert {"skimage_chelsea.png", "skimage_coffee.png"} <= set(files)
