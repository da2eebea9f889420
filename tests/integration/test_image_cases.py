"""Every image case of the docs' images table (docs/errors.md) through a real Classifier: an RGB model and a grey
one, each in every resize mode. Classified means real results; otherwise the documented ImageError, never another
exception."""

from __future__ import annotations

import pytest
from PIL import ImageFile

import edgeml.image.load
from edgeml import Classifier
from edgeml.errors import ImageError
from tests.conftest import ROOT
from tests.image_cases import CASES, Case

TINY = ROOT / "tests" / "data" / "tiny_int8.tflite"
MODES = ("stretch", "center_crop", "letterbox")


@pytest.fixture(scope="module")
def classifiers(fashion_int8):
    """tiny_int8 (32x32 RGB) and the Fashion-MNIST CNN (28x28 grey), each in the three resize modes."""
    return [Classifier(model, num_threads=1, preprocessing={"resize": mode, "crop_fraction": 0.875})
            for model in (TINY, fashion_int8) for mode in MODES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_image_case_through_the_classifier(case: Case, classifiers, tmp_path, photos, monkeypatch):
    monkeypatch.setattr(edgeml.image.load, "_limit", [case.max_pixels] if case.max_pixels else [])
    monkeypatch.delenv("EDGEML_MAX_PIXELS", raising=False)
    made: list = []

    def image():  # made once; a file opened with Image.open anew for each classifier, as a caller would
        if not made or isinstance(made[0], ImageFile.ImageFile):
            made[:] = [case.make(tmp_path, photos)]
        return made[0]

    for clf in classifiers:
        if case.error is None:
            results = clf.classify(image(), top_k=2)
            assert len(results) == 2 and 0.0 <= results[1].score <= results[0].score <= 1.0
            continue
        with pytest.raises(ImageError, match=case.error):
            clf.classify(image(), top_k=2)
