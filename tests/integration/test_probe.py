"""edgeml.verify_model(probe=True) and edgeml inspect --probe: one run in a child process, its outcome classified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgeml
from edgeml.errors import ModelFormatError
from edgeml.interpreter import probe
from tests.conftest import run_cli
from tests.flatbuffer_patch import set_field

pytest.importorskip("ai_edge_litert")
DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "tiny_int8.tflite"


def test_verify_model_probes_a_good_model():
    report = edgeml.verify_model(TINY, probe=True, timeout=60)
    assert report.probe is not None and report.probe.outcome == "ok"
    assert report.probe.outputs == ({"shape": [1, 4], "dtype": "uint8", "finite": True},)
    assert report.facts.operators == 9 and report.facts.classes == 4
    assert "probe: ok" in report.summary() and report.to_dict()["probe"]["outcome"] == "ok"


def test_verify_model_without_probe_is_static_only():
    report = edgeml.verify_model(edgeml.ModelFile.open(TINY))
    assert report.probe is None and report.metadata_problems == ()


def test_a_model_the_verifier_refuses_never_reaches_the_child(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(set_field(TINY.read_bytes(), "Operator", "opcode_index", "<I", 99, row=1))
    with pytest.raises(ModelFormatError, match="op code index 99"):
        edgeml.verify_model(bad, probe=True)


def test_an_error_in_the_child_is_reported(tmp_path):
    """A model this interpreter cannot load: the child's EdgemlError comes back as one line."""
    result = probe.probe_model(DATA / "tiny_int8_edgetpu.tflite")
    assert result.outcome == "skipped" and "Edge TPU" in result.message


def test_a_crash_in_the_child_names_the_signal(monkeypatch):
    monkeypatch.setattr(probe, "_CHILD", "tests.doubles.probe_children")
    with pytest.raises(ModelFormatError, match=r"crashed the interpreter \(SIGSEGV\) in a child process; it was not "
                                               r"loaded in this process") as info:
        edgeml.verify_model(TINY, probe=True, timeout=60)
    assert "\n" not in str(info.value)
    assert probe.probe_model(TINY).signal == "SIGSEGV"


def test_a_hang_in_the_child_is_a_timeout(monkeypatch):
    monkeypatch.setattr(probe, "_CHILD", "tests.doubles.probe_children")
    monkeypatch.setenv("EDGEML_TEST_PROBE", "hang")
    result = probe.probe_model(TINY, timeout=3)
    assert result.outcome == "timeout" and 3 <= result.seconds < 30
    with pytest.raises(ModelFormatError, match="did not finish one run"):
        edgeml.verify_model(TINY, probe=True, timeout=3)


def test_golden_input_is_deterministic_and_in_range():
    a = probe.golden_input((1, 8, 8, 3), np.dtype(np.int8))
    assert a.dtype == np.int8 and a.min() >= -128 and a.max() <= 127
    assert np.array_equal(a, probe.golden_input((1, 8, 8, 3), np.dtype(np.int8)))
    f = probe.golden_input((4,), np.dtype(np.float32))
    assert f.min() >= -1 and f.max() <= 1


def test_inspect_probe_cli():
    done = run_cli("inspect", str(TINY), "--probe")
    assert done.returncode == 0, done.stderr
    assert "probe: ok: loaded, allocated and ran once" in done.stdout
    assert "verified: runs on this interpreter" in done.stdout


def test_invoke_errors_become_model_format_errors():
    """The issue's RuntimeError escape from invoke(): Pipeline turns interpreter errors into ModelFormatError."""
    clf = edgeml.Classifier(DATA / "dynamic_int8.tflite")
    clf.interpreter.resize_tensor_input(clf.input.index, [2, 32, 32, 3])  # not re-allocated: invoke() fails
    with pytest.raises(ModelFormatError, match="The model failed while running: Invoke called on model") as info:
        clf.pipeline._invoke()
    assert "\n" not in str(info.value)
