"""Every image case of the docs' images table (docs/errors.md; tests/image_cases.py) ends as documented: through
decoding and the preprocessing of an RGB and a grey model, in every resize mode, with OpenCV and with numpy — or with
the ImageError it documents, in one line. No interpreter here: tests/integration/test_image_cases.py adds it."""

from __future__ import annotations

import importlib.util
import logging
import re

import numpy as np
import pytest

import edgeml.image.load
from edgeml.errors import ImageError
from edgeml.image.load import as_array
from edgeml.preprocess import InputPlanner, InputQuantizer, Preprocessing, Resampler, to_frame
from edgeml.tensors import TensorSpec
from tests.conftest import ROOT
from tests.image_cases import CASES, Case

BACKENDS = ["numpy"] + (["opencv"] if importlib.util.find_spec("cv2") else [])
PREPS = [Preprocessing(resize="stretch"), Preprocessing(resize="center_crop"),
         Preprocessing(resize="center_crop", crop_fraction=0.875), Preprocessing(resize="letterbox", pad_value=7),
         Preprocessing(resize="center_crop", mean=(127.0,), std=(128.0,))]  # the last: the table (lut) path
SHAPE = (24, 32)  # non-square, so every crop and letterbox has an aspect ratio to keep


@pytest.fixture
def case_limits(monkeypatch):
    """Fresh "said once" memory and the default pixel cap, whatever the environment says."""
    monkeypatch.setattr(edgeml.image.load, "_said", set())
    monkeypatch.setattr(edgeml.image.load, "_limit", [])
    monkeypatch.delenv("EDGEML_MAX_PIXELS", raising=False)


def _write_everywhere(image, channels: int) -> None:
    frame = to_frame(image, channels)
    for backend in BACKENDS:
        resampler = Resampler.choose(backend)
        for prep in PREPS:
            for dtype in (np.uint8, np.int8, np.float32):
                spec = TensorSpec("in", 0, (1, *SHAPE, channels), np.dtype(dtype),
                                  0.0 if dtype == np.float32 else 1.0, -128 if dtype == np.int8 else 0)
                planner = InputPlanner((*SHAPE, channels), prep, InputQuantizer.for_input(spec, prep, channels),
                                       resampler)
                out = np.full((*SHAPE, channels), 99, dtype)
                planner.write(frame, out)
                assert np.isfinite(out.astype(np.float64)).all()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_image_case_ends_as_documented(case: Case, tmp_path, photos, case_limits, monkeypatch, caplog):
    if case.max_pixels:
        edgeml.image.load.set_max_pixels(case.max_pixels)
    caplog.set_level(logging.WARNING, logger="edgeml.image.load")
    try:
        image, refused = case.make(tmp_path, photos), None
    except ImageError as exc:  # a Frame that cannot even be built
        image, refused = None, exc
    for channels in (3, 1):
        if case.error is None:
            _write_everywhere(image, channels)
            continue
        with pytest.raises(ImageError, match=case.error) as info:
            if refused is not None:
                raise refused
            _write_everywhere(image, channels)
        message = str(info.value)
        assert "\n" not in message and len(message) <= 400, message
    if case.reference is not None:
        pixels = as_array(image, "RGB")
        expected = case.reference(photos)
        assert pixels.shape == expected.shape
        assert np.abs(pixels.astype(int) - expected).mean() < 4  # lossy formats differ a little, nothing more
    said = [r.getMessage() for r in caplog.records if r.name == "edgeml.image.load"]
    if case.said:
        assert len(said) == 1 and case.said in said[0] and "(said once)" in said[0], said
    else:
        assert said == []


def test_every_case_has_a_row_in_the_docs_images_table():
    """Each case is documented: its ``row`` is the first cell of a row in the "## Images" table of docs/errors.md."""
    page = (ROOT / "docs" / "errors.md").read_text()
    section = page.split("\n## Images\n", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1).strip() for m in re.finditer(r"^\| ([^|]+) \|", section, re.M)}
    assert {c.row for c in CASES} <= rows, sorted({c.row for c in CASES} - rows)
