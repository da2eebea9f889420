"""On a machine with a Coral Edge TPU and libedgetpu: a compiled model runs on the TPU and agrees with the CPU.

Skips cleanly elsewhere. The compiled model comes from ``EDGEML_EDGETPU_MODEL`` (a ``*_edgetpu.tflite`` with its
uncompiled twin beside it), or is compiled from tests/data/tiny_int8.tflite when edgetpu_compiler is installed.
"""

from __future__ import annotations

import ctypes.util
import os
from pathlib import Path

import numpy as np
import pytest

from edgeml import Classifier
from edgeml.hardware import list_edgetpus

pytestmark = pytest.mark.hardware
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    if not list_edgetpus():
        pytest.skip("no Edge TPU attached (USB 1a6e:089a / 18d1:9302 or /dev/apex_N)")
    if ctypes.util.find_library("edgetpu") is None:
        pytest.skip("libedgetpu is not installed (apt-get install libedgetpu1-std)")
    if os.environ.get("EDGEML_EDGETPU_MODEL"):
        return Path(os.environ["EDGEML_EDGETPU_MODEL"])
    from edgeml.errors import CompilerNotFoundError
    from edgeml_converters.edgetpu.compiler import compile_models

    out = tmp_path_factory.mktemp("edgetpu")
    (out / "tiny_int8.tflite").write_bytes((DATA / "tiny_int8.tflite").read_bytes())
    try:
        return compile_models([out / "tiny_int8.tflite"], out).outputs[0]
    except CompilerNotFoundError:
        pytest.skip("set EDGEML_EDGETPU_MODEL to a compiled model, or install edgetpu_compiler")


def test_compiled_model_runs_on_the_edge_tpu_and_agrees_with_the_cpu(compiled, photos):
    tpu = Classifier(compiled, device="auto")
    assert tpu.device == "auto"
    scores = tpu.scores(photos["chelsea"])
    assert scores.shape == (tpu.num_classes,) and abs(float(scores.sum()) - 1.0) < 0.05
    cpu_model = compiled.with_name(compiled.name.replace("_edgetpu.tflite", ".tflite"))
    if cpu_model.is_file():
        cpu = Classifier(cpu_model)
        assert int(np.argmax(cpu.scores(photos["chelsea"]))) == int(np.argmax(scores))
