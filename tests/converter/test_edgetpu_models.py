"""The offline Edge TPU check on models edgeml's converter builds from real Keras models (cached in build/).

EfficientNet-Lite0's architecture int8 (issue 3's model when built; else Keras MobileNetV2, the same family of
ReLU6 inverted-residual blocks) must be predicted fully mapped; a grouped convolution and a float model must not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeml.edgetpu.check import check_model
from tests.conftest import CACHE, ROOT, _cached_or_convert, run_cli

pytestmark = pytest.mark.converter
EDGETPU_CACHE = CACHE / "edgetpu"
LITE0 = Path(os.environ.get("EDGEML_EFFICIENTNET_LITE0", ROOT.parent / "issue-3" / "build" / "models" /
                            "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"))


@pytest.fixture(scope="session")
def photo_dir() -> Path:
    """64 crops (96x96) of real CC0 photos from scikit-image, as PNG files for calibration."""
    folder = EDGETPU_CACHE / "photos"
    if len(list(folder.glob("*.png"))) >= 64:
        return folder
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    for i in range(64):
        img = images[i % len(images)]
        y, x = rng.integers(0, img.shape[0] - 160), rng.integers(0, img.shape[1] - 160)
        Image.fromarray(img[y:y + 160, x:x + 160, :3]).resize((96, 96)).save(folder / f"crop{i:02d}.png")
    return folder


def _keras(name: str, build) -> Path:
    path = EDGETPU_CACHE / f"{name}.keras"
    if not path.is_file():
        pytest.importorskip("tensorflow")
        import keras

        keras.utils.set_random_seed(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        build(keras).save(path)
    return path


def _mobilenet_v2(keras):
    inp = keras.Input((96, 96, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)(x)
    return keras.Model(inp, x)


def _grouped_conv(keras):
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", groups=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(4, activation="softmax")(x))


@pytest.fixture(scope="session")
def mobilenet_v2_int8(photo_dir) -> Path:
    source = _keras("mobilenet_v2", _mobilenet_v2)
    return _cached_or_convert(EDGETPU_CACHE / "mobilenet_v2" / "mobilenet_v2_int8.tflite", source,
                              calibration_dir=photo_dir, max_calibration_images=48, check_images=8)


@pytest.fixture(scope="session")
def grouped_int8(photo_dir) -> Path:
    source = _keras("grouped_conv", _grouped_conv)
    return _cached_or_convert(EDGETPU_CACHE / "grouped" / "grouped_conv_int8.tflite", source,
                              calibration_dir=photo_dir, max_calibration_images=48, check_images=8)


def test_efficientnet_lite_family_int8_is_predicted_fully_mapped(mobilenet_v2_int8):
    models = [mobilenet_v2_int8] + ([LITE0] if LITE0.is_file() else [])
    for model in models:
        report = check_model(model)
        assert report.ready, (model, report.summary())
        assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD"} <= {op.op for op in report.ops}


def test_fashion_int8_is_mapped_and_its_float_twin_is_not(fashion_int8, fashion_float):
    assert check_model(fashion_int8).ready
    float_report = check_model(fashion_float)
    assert float_report.mapped == 0 and "float32" in float_report.ops[0].reasons[0]


def test_grouped_conv_from_the_converter_is_conv2d_v6_and_refused(grouped_int8):
    report = check_model(grouped_int8)
    assert not report.ready and report.parse_errors
    assert any(op.op == "CONV_2D" and op.version == 6 and "groups=1" in op.fixes[0] for op in report.ops)


@pytest.mark.slow
def test_convert_target_edgetpu_refuses_grouped_conv_before_compiling(photo_dir, tmp_path):
    source = _keras("grouped_conv", _grouped_conv)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # no edgetpu_compiler on this PATH
    proc = run_cli("convert", str(source), "--calibration", str(photo_dir), "--output", str(tmp_path),
                   "--max-calibration-images", "32", "--target", "edgetpu", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "cannot read" in proc.stderr and "CONV_2D version 6" in proc.stderr and "groups=1" in proc.stderr
    assert (tmp_path / "grouped_conv_int8.tflite").is_file() and not list(tmp_path.glob("*_edgetpu.tflite"))
