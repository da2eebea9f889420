"""Interpreter selection: one place, clear errors, tflite-runtime under numpy 2 refused with the fix."""

from __future__ import annotations

import pytest

from edgeml.errors import ModelFormatError, ModelNotFoundError
from edgeml.interpreter import check_model_file, load_backend, open_interpreter, tflite_runtime_problem


def test_auto_prefers_ai_edge_litert():
    pytest.importorskip("ai_edge_litert")
    assert load_backend().name == "ai_edge_litert"


def test_environment_variable_selects_backend(monkeypatch):
    pytest.importorskip("ai_edge_litert")
    monkeypatch.setenv("EDGEML_INTERPRETER", "ai_edge_litert")
    assert load_backend().name == "ai_edge_litert"
    monkeypatch.setenv("EDGEML_INTERPRETER", "nonsense")
    with pytest.raises(ValueError, match="Unknown interpreter backend 'nonsense'"):
        load_backend()


@pytest.mark.parametrize(
    ("tfl", "np_version", "bad"),
    [("2.14.0", "2.1.0", True), ("2.14.0", "1.26.4", False), ("2.5.0.post1", "2.0.0", True), ("2.15.0", "2.0", False)],
)
def test_tflite_runtime_numpy_pairs(tfl, np_version, bad):
    problem = tflite_runtime_problem(tfl, np_version)
    assert bool(problem) is bad
    if bad:
        assert "pip install ai-edge-litert" in problem and 'numpy<2' in problem


def test_missing_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found.*edgeml convert"):
        check_model_file(tmp_path / "nope.tflite")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("notes.tflite", b"hello world, not a model", "not a TFLite model"),
        ("model.keras", b"PK\x03\x04" + bytes(20), "Keras model: convert it first"),
        ("model.h5", b"\x89HDF\r\n\x1a\n" + bytes(20), "Keras model: convert it first"),
        ("empty.tflite", b"", "not a TFLite model"),
    ],
)
def test_non_models_are_rejected_before_the_interpreter_sees_them(tmp_path, name, content, match):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(ModelFormatError, match=match):
        check_model_file(f)


def test_truncated_flatbuffer_is_a_model_format_error(tmp_path):
    pytest.importorskip("ai_edge_litert")
    f = tmp_path / "cut.tflite"
    f.write_bytes(b"\x18\x00\x00\x00TFL3" + bytes(100))
    with pytest.raises(ModelFormatError, match="not a valid TFLite"):
        open_interpreter(f)
