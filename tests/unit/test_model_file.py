"""A model file is read once and shared: the interpreter, the metadata and the Edge TPU check use the same bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgeml import Classifier, ModelFile, ModelFormatError, ModelNotFoundError
from edgeml.describe import describe
from edgeml.edgetpu.check import check_model

DATA = Path(__file__).resolve().parents[1] / "data"
MODEL = DATA / "tiny_int8.tflite"


def test_a_classifier_opens_its_model_file_exactly_once():
    code = f"""
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" and str(args[0]) == {str(MODEL)!r}
                 else None)
import edgeml
clf = edgeml.Classifier({str(MODEL)!r})
clf.classify(__import__("numpy").zeros((40, 30, 3), "uint8"))
print(len(opened), clf.metadata is clf.model.metadata, "edgeml.edgetpu.delegate" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "True", "False"]  # one read; metadata from the same object; no Edge TPU code for the CPU


def test_one_model_file_serves_classifier_check_and_describe():
    model = ModelFile.open(MODEL)
    clf = Classifier(model)
    assert clf.model is model and clf.model_path == MODEL
    assert check_model(model).total == len(model.graph.main.operators)
    report = describe(model)
    assert report["size_bytes"] == model.size == MODEL.stat().st_size
    assert report["op_count"] == len(model.graph.main.operators)
    assert not model.compiled_for_edgetpu and ModelFile.open(DATA / "tiny_int8_edgetpu.tflite").compiled_for_edgetpu


def test_bytes_already_in_memory_make_a_model_file_too():
    model = ModelFile.from_bytes(MODEL.read_bytes(), "from-memory.tflite")
    assert Classifier(model).num_classes == Classifier(MODEL).num_classes
    with pytest.raises(ModelFormatError, match="not a TFLite model"):
        ModelFile.from_bytes(b"PK\x03\x04not a model", "model.keras")


def test_missing_and_wrong_files_say_what_they_are(tmp_path):
    with pytest.raises(ModelNotFoundError, match="Model file not found"):
        ModelFile.open(tmp_path / "missing.tflite")
    keras = tmp_path / "model.keras"
    keras.write_bytes(b"PK\x03\x04" + b"\0" * 20)
    with pytest.raises(ModelFormatError, match="looks like a Keras model"):
        ModelFile.open(keras)
    with pytest.raises(ModelNotFoundError):
        ModelFile.open(tmp_path)  # a folder is not a model file
