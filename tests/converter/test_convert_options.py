"""Converter options: calibrated weight rounding, per-channel mean/std validation, letterbox recorded in the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeml import Classifier
from edgeml.errors import ConversionError
from edgeml.model.metadata import read_metadata
from edgeml.preprocess import Preprocessing
from tests.conftest import run_cli

pytestmark = pytest.mark.converter


def test_optimised_rounding_picks_floor_or_ceil_and_never_does_worse_than_nearest():
    from edgeml_converters.quantize.rounding import optimise_rounding

    rng = np.random.default_rng(0)
    a = rng.normal(size=(24, 24)) + 2.0 * rng.normal(size=(24, 1))  # correlated inputs, like neighbouring pixels
    cov = a @ a.T / 24
    w = rng.uniform(-127, 127, size=(16, 24))
    w[:, 0] = 127.0  # each channel's largest weight sits exactly on the grid
    q = optimise_rounding(w, cov)

    def objective(x: np.ndarray) -> np.ndarray:
        return np.einsum("ri,ij,rj->r", x - w, cov, x - w)

    assert np.all((q == np.floor(w)) | (q == np.ceil(w))) and np.all(q[:, 0] == 127)
    assert np.all(objective(q) <= objective(np.round(w)) + 1e-9)
    assert objective(q).sum() < 0.8 * objective(np.round(w)).sum()
    per_row = optimise_rounding(w, np.broadcast_to(cov, (16, 24, 24)).copy())  # depthwise form, same answer
    assert np.array_equal(per_row, q)


def test_scarce_calibration_samples_shrink_the_covariance_towards_nearest_rounding():
    from edgeml_converters.quantize.rounding import _shrink, optimise_rounding

    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 40))  # 3 samples of 40 inputs: a singular covariance, as a dense layer would see
    cov = a.T @ a / 3
    assert np.allclose(_shrink(cov, 0), np.diag(np.diag(cov)))
    assert np.allclose(_shrink(cov, 10**9), cov, atol=1e-6)
    w = rng.uniform(-100, 100, size=(8, 40))
    assert np.array_equal(optimise_rounding(w, _shrink(cov, 0)), np.round(w))  # diagonal: nearest is optimal


def _scores(path, images):
    clf = Classifier(path)
    return np.stack([clf.scores(im) for im in images]).astype(np.float64)


def test_calibrated_rounding_brings_int8_closer_to_float_with_the_same_graph(fashion, tmp_path):
    """Default int8 re-rounds weights (recorded in the model); same ops and size, smaller error vs float."""
    import keras

    from edgeml_converters.convert import convert
    from edgeml_converters.quantize.calibration import normalize, pixels_for

    common = dict(calibration_dir=fashion.calibration_dir, labels=fashion.labels, max_calibration_images=200,
                  check_images=0, progress=False)
    calibrated = convert(fashion.model, tmp_path / "calibrated", **common).models[0]
    nearest = convert(fashion.model, tmp_path / "nearest", weight_rounding="nearest", **common).models[0]
    assert calibrated.graph.ops == nearest.graph.ops
    assert calibrated.graph.tensor_dtypes == nearest.graph.tensor_dtypes
    assert abs(calibrated.path.stat().st_size - nearest.path.stat().st_size) < 512
    assert calibrated.rounding is not None and nearest.rounding is None
    assert calibrated.rounding.layers == 4 and calibrated.rounding.skipped == 0  # 2 conv + 2 dense
    assert calibrated.rounding.changed_weights > 0 and calibrated.rounding.error_ratio < 1.0
    assert read_metadata(calibrated.path).info["weight_rounding"]["mode"] == "calibrated"
    assert read_metadata(nearest.path).info["weight_rounding"] == {"mode": "nearest"}

    paths = sorted(fashion.test_dir.glob("*/*.png"))[::2]  # 500 held-out images
    images = [np.asarray(Image.open(p)) for p in paths]
    model = keras.models.load_model(fashion.model, compile=False)
    prep = Preprocessing()
    reference = model.predict(normalize(np.stack([pixels_for(p, (28, 28, 1), prep) for p in paths]), prep),
                              verbose=0)
    errors = {name: float(np.mean((_scores(m.path, images) - reference) ** 2))
              for name, m in (("calibrated", calibrated), ("nearest", nearest))}
    print(f"mean squared error of int8 probabilities vs float: {errors}")
    assert errors["calibrated"] < errors["nearest"]


def test_declared_mean_with_the_wrong_channel_count_is_a_clear_error(tmp_path):
    import keras

    from edgeml_converters.convert import convert
    from edgeml_converters.quantize.calibration import normalize

    image = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(image))
    model = keras.Model(image, keras.layers.Dense(2, activation="softmax")(x), name="rgb_tiny")
    with pytest.raises(ConversionError, match=r"1 or 3 values .* mean=\[127.0, 127.0\]"):
        convert(model, tmp_path, quantize="float32", preprocessing=Preprocessing(mean=(127.0, 127.0), std=(128.0,)),
                progress=False)
    assert not list(tmp_path.glob("*.tflite"))
    with pytest.raises(ConversionError, match="1 or 3 values"):
        normalize(np.zeros((2, 2, 3), np.uint8), Preprocessing(mean=(1.0, 2.0), std=(1.0,)))


def test_letterbox_and_pad_value_are_recorded_and_used_by_the_runtime(fashion, tmp_path):
    proc = run_cli("convert", str(fashion.model), "--quantize", "float32", "--resize", "letterbox",
                   "--pad-value", "114", "--labels", str(fashion.labels), "--output", str(tmp_path), "--json",
                   "--bundle", "--name", "fashion", "--version", "4", "--unsigned")
    assert proc.returncode == 0, proc.stderr
    path = json.loads(proc.stdout.splitlines()[0])["path"]
    # --bundle (the same conversion, to keep CI short): the model store's bundle of what was written
    from edgeml.store.bundle import unpack

    written = json.loads(proc.stdout.splitlines()[-1])
    assert written["bundle"] and written["path"].endswith("fashion-4.edgeml")
    (tmp_path / "unpacked").mkdir()
    manifest = unpack(written["path"], tmp_path / "unpacked", {}, allow_unsigned=True).manifest
    assert (manifest.name, manifest.version, manifest.model) == ("fashion", 4, Path(path).name)
    assert (tmp_path / "unpacked" / manifest.model).read_bytes() == Path(path).read_bytes()
    info = read_metadata(path).info
    assert info["preprocessing"]["resize"] == "letterbox" and info["preprocessing"]["pad_value"] == 114
    clf = Classifier(path)
    assert clf.preprocessing.resize == "letterbox" and clf.preprocessing.pad_value == 114
    wide = np.full((28, 56), 200, np.uint8)  # fitted to 14x28, centred: borders above and below
    tensor = clf.preprocess(wide)[0, :, :, 0]
    assert np.all(tensor[:7] == 114) and np.all(tensor[21:] == 114)
    assert np.allclose(tensor[8:20], 200)


def test_report_scores_center_cropped_models_on_the_images_the_float_model_saw(fashion, tmp_path):
    """The report feeds its already-cropped pixels as the input tensor; resizing them again through the runtime
    would crop a second time (crop fraction < 1) and compare the int8 model on other images."""
    from edgeml_converters.convert import convert

    prep = Preprocessing(resize="center_crop", crop_fraction=0.75)
    result = convert(fashion.model, tmp_path, calibration_dir=fashion.calibration_dir, labels=fashion.labels,
                     quantize=["int8"], preprocessing=prep, eval_dir=fashion.test_dir, eval_images=300,
                     progress=False)
    int8 = json.loads(result.report_path.read_text())["models"][1]
    assert Classifier(result.models[0].path).preprocessing.crop_fraction == 0.75
    # Cropping 75% twice shows the model a 56%-crop instead: agreement then falls far below this.
    assert int8["agreement_with_float"] >= 0.97 and result.models[0].agreement >= 0.97
    assert int8["agreement_weights_only"] >= 0.97


def test_a_folder_too_small_to_hold_images_out_is_still_checked_and_says_so(fashion, tmp_path):
    """40 calibration images: all calibrate, and the agreement check runs on them (in-sample), flagged as such;
    before, nothing was checked and nothing said so (e.g. the 69 offline photos of the pretrained demo)."""
    import shutil

    from edgeml.image.load import find_images
    from edgeml_converters.convert import convert

    small = tmp_path / "small"
    for path in sorted(find_images(fashion.calibration_dir))[::10][:40]:
        target = small / path.relative_to(fashion.calibration_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    result = convert(fashion.model, tmp_path / "out", calibration_dir=small, labels=fashion.labels,
                     quantize=["int8"], progress=False)
    assert result.checked_images == 40 and result.checked_held_out is False
    assert result.agreement is not None and result.agreement >= 0.9
    big = convert(fashion.model, tmp_path / "big", calibration_dir=fashion.calibration_dir, labels=fashion.labels,
                  quantize=["dynamic"], progress=False)
    assert big.checked_held_out is True and big.checked_images == 100  # 400 images: 300 calibrate, 100 held out
