"""The top-level API is small, explicit and pinned; importing it pulls in no heavy or optional package."""

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


# Heavy or optional packages `import edgeml` must leave alone: each is imported inside the function that needs it
# (the interpreter when a model is opened). How long the import takes is a figure: make bench-budgets.
NOT_AT_IMPORT = ("tensorflow", "keras", "cv2", "picamera2", "ai_edge_litert", "tflite_runtime", "pycoral",
                 "starlette", "prometheus_client", "paho", "cryptography", "usearch", "tqdm")


def test_import_pulls_in_no_heavy_or_optional_package():
    code = (
        "import sys; import edgeml, edgeml.cli; "
        f"print([m for m in sys.modules if m.split('.')[0] in {NOT_AT_IMPORT!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


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
