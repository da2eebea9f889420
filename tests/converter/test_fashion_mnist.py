"""Keras → int8 .tflite on a real model (Fashion-MNIST CNN): accuracy kept, uint8 bytes-in input, metadata."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest

from edgeml import Classifier
from edgeml.errors import ConversionError, InvalidArgumentError, ModelCompatibilityError
from tests.conftest import run_cli

pytestmark = pytest.mark.converter


def test_int8_accuracy_within_two_points_of_float(fashion, fashion_int8):
    from tests import fashion_model as fashion_mnist_model

    float_acc = fashion_mnist_model.float_accuracy(fashion.model, count=2000)
    int8_acc = fashion_mnist_model.tflite_accuracy(fashion_int8, count=2000)
    print(f"Fashion-MNIST test top-1 on 2000 images: float {float_acc:.4f}, int8 {int8_acc:.4f}")
    assert float_acc > 0.78, "the test model did not train"
    assert int8_acc >= float_acc - 0.02


def test_int8_model_takes_pixel_bytes_unchanged(fashion_int8):
    clf = Classifier(fashion_int8)
    assert clf.input.shape == (1, 28, 28, 1)
    assert clf.input.dtype == np.uint8 and clf.output.dtype == np.uint8
    assert clf.input.scale == 1.0 and clf.input.zero_point == 0


def test_labels_and_preprocessing_are_embedded(fashion_int8):
    clf = Classifier(fashion_int8)
    assert clf.labels is not None and clf.labels[9] == "Ankle boot"
    assert clf.output_activation == "softmax"
    names = zipfile.ZipFile(fashion_int8).namelist()
    assert "labels.txt" in names and "edgeml.json" in names
    assert (fashion_int8.parent / "labels.txt").read_text().splitlines()[0] == "T-shirt/top"


def test_float32_model_agrees_with_keras(fashion, fashion_float):
    from tests import fashion_model as fashion_mnist_model

    clf = Classifier(fashion_float)
    assert clf.input.dtype == np.float32 and clf.input.shape == (1, 28, 28, 1)
    acc = fashion_mnist_model.tflite_accuracy(fashion_float, count=500)
    assert abs(acc - fashion_mnist_model.float_accuracy(fashion.model, count=500)) < 0.005


def test_int8_without_calibration_is_refused(fashion, tmp_path):
    from edgeml_converters.convert import convert

    with pytest.raises(InvalidArgumentError, match="int8 quantization needs calibration images: pass --calibration"):
        convert(fashion.model, tmp_path)


def test_a_tflite_given_for_int8_conversion_is_refused(fashion, fashion_float, tmp_path):
    """A float .tflite where the int8 converter wants the Keras model: a one-line error saying what to pass."""
    from edgeml_converters.convert import convert

    with pytest.raises(ModelCompatibilityError, match="already a TFLite model.*float.*Keras model"):
        convert(fashion_float, tmp_path, calibration_dir=fashion.calibration_dir)
    proc = run_cli("convert", str(fashion_float), "--calibration", str(fashion.calibration_dir),
                   "--output", str(tmp_path))
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "already a TFLite model" in proc.stderr


def test_empty_calibration_folder_is_refused(fashion, tmp_path):
    from edgeml_converters.convert import convert

    (tmp_path / "empty").mkdir()
    with pytest.raises(ConversionError, match="No images found"):
        convert(fashion.model, tmp_path / "out", calibration_dir=tmp_path / "empty")


def test_cli_convert_writes_a_working_model(fashion, tmp_path):
    proc = run_cli("convert", str(fashion.model), "--calibration", str(fashion.calibration_dir),
                   "--output", str(tmp_path), "--labels", str(fashion.labels), "--max-calibration-images", "100",
                   "--preset", "raw", "--quantize", "int8", "dynamic", "--json")
    assert proc.returncode == 0, proc.stderr
    model = tmp_path / "fashion_cnn_int8.tflite"
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(model), str(tmp_path / "fashion_cnn_dynamic.tflite"),
                                                str(tmp_path / "labels.txt")]
    assert lines[0]["input"]["dtype"] == "uint8" and lines[0]["exact_input"] is True
    assert lines[1]["quantize"] == "dynamic" and lines[1]["input"]["dtype"] == "float32"
    # piped, no progress bar is drawn (test_quiet_cli.py checks them on a terminal); the summary still is
    assert "calibrating" not in proc.stdout + proc.stderr and "Wrote 2 models to" in proc.stderr
    image = next(fashion.test_dir.glob("9_*/*.png"))
    assert Classifier(model).classify(image, top_k=1)[0].label == "Ankle boot"


def test_cli_refuses_an_eval_folder_whose_classes_match_no_label(fashion, tmp_path):
    """Checked before converting: exit 1 with one line naming the folder, the labels and the fix."""
    (tmp_path / "eval" / "cats").mkdir(parents=True)
    shutil.copy(next(fashion.test_dir.glob("0_*/*.png")), tmp_path / "eval" / "cats" / "a.png")
    proc = run_cli("convert", str(fashion.model), "--output", str(tmp_path / "out"), "--quantize", "float32",
                   "--labels", str(fashion.labels), "--eval", str(tmp_path / "eval"))
    assert proc.returncode == 1, proc.stderr
    assert "match no label: ['cats']" in proc.stderr and "--labels" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()
