"""Classifier input handling on a real model: every kind of bad input is a clear ImageError, never a crash or a
garbage result, and the interpreter keeps working afterwards (no tensor view is left behind)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeml import Classifier, ImageError, LabelsError
from edgeml.boards import get_profile
from edgeml.frame import Frame
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def clf(fashion_int8):
    return Classifier(fashion_int8)


@pytest.fixture(scope="module")
def coffee_top3(fashion_int8, photos):
    """The answer for the coffee photo from a classifier of its own, which never sees a bad input."""
    return Classifier(fashion_int8).classify(photos["coffee"], top_k=3)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p[:, :, :2].copy(), r"\(H, W, 3\) RGB.*shape=\(300, 451, 2\)"),
        (lambda p: np.zeros((0, 10, 3), np.uint8), "empty"),
        (lambda p: p.astype(np.float32) / 255, "must be uint8.*float32"),
        (lambda p: Frame(p, "RGBX"), r"RGBX frame must be uint8 \(H, W, 4\)"),
        (lambda p: Frame(p, "I420"), r"I420 frame must be uint8 \(H \* 3 // 2, W\)"),
        (lambda p: Frame(p[:, :, 0], "BGR"), r"BGR frame must be uint8 \(H, W, 3\)"),
        (lambda p: Frame(p.astype(np.float64)), "Frame pixels must be a uint8 ndarray"),
        (lambda p: Frame(np.zeros((450, 300), np.uint8)[:, ::2], "NV12"), "C-contiguous"),
        (lambda p: [1, 2, 3], "Received: list"),
    ],
    ids=["two-channels", "zero-size", "float-array", "rgb-as-rgbx", "rgb-as-i420", "grey-as-bgr", "float-frame",
         "strided-nv12", "list"],
)
def test_bad_input_is_a_clear_error_and_the_classifier_recovers(clf, coffee_top3, photos, make, match):
    with pytest.raises(ImageError, match=match):
        clf.classify(make(photos["chelsea"]))
    # The failure must not leave a view of the interpreter's buffers alive, nor a stale input: the next call gives
    # exactly (classes and scores) what an independent classifier that never failed gives.
    assert clf.classify(photos["coffee"], top_k=3) == coffee_top3


def test_non_contiguous_arrays_give_the_same_answer_as_their_copies(clf, photos):
    strided = photos["astronaut"][::2, ::-3]  # negative and non-unit strides
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(clf.preprocess(strided), clf.preprocess(np.ascontiguousarray(strided)))


def test_run_times_every_stage_and_classify_fills_a_dict(clf, photos, fashion):
    prediction = clf.run(Frame(photos["coffee"][..., ::-1].copy(), "BGR"), top_k=3)
    assert len(prediction.results) == 3 and prediction.top == prediction.results[0]
    t = prediction.timings
    assert min(t.preprocess, t.invoke, t.postprocess) > 0 and t.total >= t.invoke
    filled: dict[str, float] = {}
    path = next(fashion.test_dir.glob("1_*/*.png"))
    assert clf.classify(path, timings=filled)[0].label == "Trouser"
    assert set(filled) == {"decode", "preprocess", "invoke", "postprocess", "total"} and filled["decode"] > 0


def test_board_profile_sits_between_argument_and_model(fashion_int8):
    """A shipped profile (read by the real loader) sets threads and says nothing about preprocessing: the model's
    recorded preprocessing shows through it, and an explicit argument beats both rungs, field by field."""
    profile = get_profile("rpi-4b")
    model_only = Classifier(fashion_int8)
    recorded = model_only.settings.origin("preprocessing")
    assert recorded.startswith("model (resize, ")  # the converter recorded every field
    on_board = Classifier(fashion_int8, board=profile)
    assert (on_board.num_threads, on_board.settings.origin("threads")) == (profile.threads, "board rpi-4b") == (
        3, "board rpi-4b")
    assert on_board.preprocessing == model_only.preprocessing and on_board.settings.origin("preprocessing") == recorded
    both = Classifier(fashion_int8, board=profile, num_threads=1, preprocessing={"resize": "center_crop"})
    assert (both.num_threads, both.settings.origin("threads")) == (1, "argument")
    assert both.preprocessing.resize == "center_crop" != model_only.preprocessing.resize
    assert both.preprocessing.mean == model_only.preprocessing.mean
    assert both.settings.origin("preprocessing") == "argument (resize); model (crop_fraction, mean, std, pad_value)"


def test_unknown_allow_label_names_the_close_ones(fashion_int8):
    with pytest.raises(LabelsError, match=r"Unknown class 'shirt'.*'T-shirt/top', 'Shirt'"):
        Classifier(fashion_int8, allow=["shirt"])


def test_bench_cli_reports_every_stage_and_ratio(fashion_int8):
    proc = run_cli("bench", str(fashion_int8), "--frame", "64x48", "--iterations", "10", "--rounds", "2",
                   "--block", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["edgeml"]) == {"decode", "preprocess", "invoke", "postprocess", "total"}
    assert data["edgeml"]["total"]["n"] == data["tutorial"]["total"]["n"] == data["bare_invoke"]["n"] == 10
    assert data["frame"] == "64x48" and data["block"] == 3
    assert set(data["ratios"]) == {"edgeml_over_invoke", "tutorial_over_invoke", "overhead_removed", "fps_gain"}
    assert data["bare_invoke"]["median_ms"] > 0 and data["input_path"] == "copy"
    bad = run_cli("bench", str(fashion_int8), "--frame", "640by480")
    assert bad.returncode == 2 and "WIDTHxHEIGHT" in bad.stderr
    zero = run_cli("bench", str(fashion_int8), "--block", "0")
    assert zero.returncode == 2 and zero.stdout == "" and "--block: must be >= 1, got 0" in zero.stderr


def test_board_profile_name_sets_threads_below_an_explicit_argument(fashion_int8):
    """``board="rpi-4b"`` gives its recommended 3 interpreter threads; an explicit ``num_threads`` still wins."""
    assert Classifier(fashion_int8, board="rpi-4b").num_threads == 3
    assert Classifier(fashion_int8, board="rpi-4b", num_threads=1).num_threads == 1
    assert Classifier(fashion_int8).num_threads is None


def test_preprocess_invoke_decode_in_steps_equals_classify(fashion_int8, fashion):
    """The step-by-step API the streaming loop uses gives exactly classify()'s results."""
    clf = Classifier(fashion_int8)
    image = sorted(fashion.test_dir.glob("*/*.png"))[0]
    assert clf.decode(clf.invoke(clf.preprocess(image)), top_k=3) == clf.classify(image, top_k=3)
