"""The top-level API is small, explicit and pinned; importing it is fast and pulls in no heavy package."""

from __future__ import annotations

import subprocess
import sys

import edgeml

EXPECTED = [
    "BoardProfile", "BoardProfileError", "BundleError", "Classification", "Classifier", "CompilerNotFoundError",
    "ConversionError", "EdgeTpuError", "EdgemlError", "Embedder", "Embedding", "Frame", "ImageError", "Index",
    "IndexFileError", "InterpreterUnavailableError", "InvalidArgumentError", "InvalidSourceError", "LabelsError",
    "LearnError", "MissingDependencyError", "ModelCompatibilityError", "ModelFile", "ModelFormatError",
    "ModelNotFoundError", "Prediction", "Preprocessing", "Run", "RunSettings", "RunSpec", "ServiceConfigError",
    "SinkError", "SourceError", "StoreError", "Stream", "StreamResult", "StreamStalledError", "StreamStats",
    "TensorSpec", "Timings", "Verification", "__version__", "cosine_similarity", "load_image", "open_run",
    "read_labels", "resolve_settings", "stream", "verify_model",
]


def test_all_is_sorted_and_pinned():
    assert edgeml.__all__ == sorted(edgeml.__all__)
    assert edgeml.__all__ == EXPECTED
    for name in edgeml.__all__:
        assert hasattr(edgeml, name), name


def test_import_pulls_in_no_tensorflow_cv2_or_picamera2_and_is_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import edgeml, edgeml.cli; t = time.perf_counter() - t; "
        "bad = [m for m in ('tensorflow', 'cv2', 'picamera2', 'keras') if m in sys.modules]; "
        "print(bad, t)"
    )
    # Best of three: the first import in a fresh process also pays for disk cache misses.
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        bad, seconds = out.rsplit(" ", 1)
        assert bad == "[]", out
        times.append(float(seconds))
    assert min(times) < 0.3, times


def test_errors_also_derive_from_builtins():
    assert issubclass(edgeml.ModelNotFoundError, FileNotFoundError)
    assert issubclass(edgeml.ModelFormatError, ValueError)
    assert issubclass(edgeml.ImageError, ValueError)
    assert issubclass(edgeml.InterpreterUnavailableError, ImportError)
    for name in edgeml.__all__:
        obj = getattr(edgeml, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, edgeml.EdgemlError)


def test_every_error_class_is_exported_and_stream_is_the_function_not_a_module():
    import importlib
    import inspect

    from edgeml import errors

    exported = {n for n in edgeml.__all__ if isinstance(getattr(edgeml, n), type)}
    assert {n for n, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)} <= exported
    assert callable(edgeml.stream) and not inspect.ismodule(edgeml.stream)
    assert inspect.ismodule(importlib.import_module("edgeml.streaming"))
