"""The runtime on a real converted model: API contract, input kinds, CLI output and bad input."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from edgeml import Classification, Classifier
from edgeml.errors import LabelsError, ModelFormatError
from tests.conftest import run_cli


def test_classify_contract(fashion, fashion_int8):
    clf = Classifier(fashion_int8, labels=fashion.labels)
    image = next(fashion.test_dir.glob("1_*/*.png"))
    results = clf.classify(image, top_k=5)
    assert len(results) == 5 and all(isinstance(r, Classification) for r in results)
    assert results[0].label == "Trouser" and results[0].index == 1
    assert all(isinstance(r.score, float) and 0.0 <= r.score <= 1.0 for r in results)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_path_pil_grey_and_rgb_array_give_the_same_answer(fashion, fashion_int8):
    clf = Classifier(fashion_int8)
    path = next(fashion.test_dir.glob("7_*/*.png"))
    grey = Image.open(path)
    rgb = np.asarray(grey.convert("RGB"))
    expected = clf.classify(path)
    assert clf.classify(grey) == expected
    assert clf.classify(rgb) == expected
    # Any size: a 4x upscaled colour photo of the item still goes through.
    assert clf.classify(np.asarray(grey.convert("RGB").resize((112, 112))))[0].label == expected[0].label


def test_wrong_label_count_is_refused(fashion_int8):
    with pytest.raises(LabelsError, match="3 labels given but the model has 10 classes"):
        Classifier(fashion_int8, labels=["a", "b", "c"])


def test_invoke_checks_tensor_shape_and_dtype(fashion_int8):
    clf = Classifier(fashion_int8)
    with pytest.raises(ModelFormatError, match=r"uint8 of shape \(1, 28, 28, 1\).*float32"):
        clf.invoke(np.zeros((1, 28, 28, 1), np.float32))


def test_concurrent_classify_is_consistent(fashion, fashion_int8):
    clf = Classifier(fashion_int8)
    paths = sorted(fashion.test_dir.glob("*/*.png"))[:40]
    expected = [clf.classify(p, top_k=1)[0].index for p in paths]
    got: dict[int, list[int]] = {}

    def work(n: int) -> None:
        got[n] = [clf.classify(p, top_k=1)[0].index for p in paths]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == expected for v in got.values())


def test_cli_json_lines(fashion, fashion_int8):
    images = sorted(fashion.test_dir.glob("*/*.png"))[:3]
    proc = run_cli("classify", "--model", str(fashion_int8), "--top-k", "2", "--json", *map(str, images))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["path"] for d in lines] == [str(p) for p in images]
    for d in lines:
        assert len(d["results"]) == 2 and set(d["results"][0]) == {"index", "label", "score"}
        assert d["latency_ms"] > 0


def test_cli_keeps_going_past_a_file_that_is_not_an_image(fashion, fashion_int8, tmp_path):
    bad = tmp_path / "report.png"
    bad.write_text("this is text")
    good = next(fashion.test_dir.glob("8_*/*.png"))
    proc = run_cli("classify", "-m", str(fashion_int8), "--json", str(bad), str(good))
    assert proc.returncode == 1
    assert "is not an image" in proc.stderr and proc.stderr.count("\n") == 1
    assert json.loads(proc.stdout)["results"][0]["label"] == "Bag"


def test_cli_human_output(fashion, fashion_int8):
    good = next(fashion.test_dir.glob("5_*/*.png"))
    proc = run_cli("classify", "-m", str(fashion_int8), "--top-k", "1", str(good))
    assert proc.returncode == 0 and "Sandal" in proc.stdout


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.write_text("just text"), "not a TFLite model"),
        (lambda p: None, "Model file not found"),
    ],
)
def test_cli_bad_model_files_give_one_line(tmp_path, make, match):
    model = tmp_path / "m.tflite"
    make(model)
    proc = run_cli("classify", "-m", str(model), "x.png")
    assert proc.returncode == 1 and match in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_truncated_real_model_gives_one_line(fashion_int8, tmp_path):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(fashion_int8.read_bytes()[:5000])
    proc = run_cli("classify", "-m", str(cut), "x.png")
    assert proc.returncode == 1 and "truncated or damaged" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_keras_file_given_as_model_says_convert_first(fashion, tmp_path):
    proc = run_cli("classify", "-m", str(fashion.model), "x.png")
    assert proc.returncode == 1 and "convert it first" in proc.stderr


def test_model_copied_without_sidecar_still_has_labels(fashion_int8, tmp_path):
    alone = tmp_path / "alone.tflite"
    shutil.copyfile(fashion_int8, alone)
    assert Classifier(alone).labels[0] == "T-shirt/top"
