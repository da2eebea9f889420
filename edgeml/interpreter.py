"""Choose and open a TFLite interpreter: the only place that knows which interpreter packages exist.

Order of preference (``backend="auto"``):

1. ``ai_edge_litert`` (LiteRT): maintained, numpy 1 and 2, wheels for x86-64 and aarch64 (Raspberry Pi OS 64-bit).
2. ``tflite_runtime``: frozen at 2.14 and built against numpy 1; under numpy 2 it fails inside ``Interpreter()``
   with a ``SystemError``, so it is refused up front with the fix.
3. ``tensorflow.lite``: works on a host with TensorFlow, deprecated there; used last and reported.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from edgeml._native_log import TFLITE_NOISE, filtered_stderr
from edgeml.errors import InterpreterUnavailableError, ModelFormatError, ModelNotFoundError

__all__ = ["BACKENDS", "Backend", "check_model_file", "load_backend", "open_interpreter", "tflite_runtime_problem"]

log = logging.getLogger(__name__)

BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")
_MODULES = {
    "ai_edge_litert": "ai_edge_litert.interpreter",
    "tflite_runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow.lite",
}
_INSTALL = (
    'pip install ai-edge-litert  (Raspberry Pi OS 64-bit, x86-64 and aarch64 Linux, Python 3.10-3.13); '
    'or, on a host, pip install "edgeml[convert]" for tensorflow'
)


@dataclass(frozen=True)
class Backend:
    """An importable interpreter package: its name, ``Interpreter`` class and ``load_delegate`` function."""

    name: str
    interpreter_class: Any
    load_delegate: Any


def tflite_runtime_problem(tflite_runtime_version: str, numpy_version: str) -> str | None:
    """Return why this tflite-runtime cannot work with this numpy, or None when it can.

    tflite-runtime up to 2.14 (the last release) is compiled against numpy 1 and fails inside ``Interpreter()``
    under numpy 2, so the pair is refused before import with the fix.
    """
    tfl = tuple(int(p) for p in tflite_runtime_version.split(".")[:2])
    if int(numpy_version.split(".")[0]) >= 2 and tfl <= (2, 14):
        return (
            f"tflite-runtime {tflite_runtime_version} was built for numpy 1.x but numpy {numpy_version} is "
            "installed; it would fail inside Interpreter() with a SystemError. Fix: pip install ai-edge-litert "
            '(recommended, works with numpy 2), or pip install "numpy<2"'
        )
    return None


def _import_backend(name: str) -> Backend:
    if name == "tflite_runtime":
        try:
            version = importlib.metadata.version("tflite-runtime")
        except importlib.metadata.PackageNotFoundError:
            version = None
        problem = version and tflite_runtime_problem(version, np.__version__)
        if problem:
            raise InterpreterUnavailableError(problem)
    module: ModuleType = importlib.import_module(_MODULES[name])
    if name == "tensorflow":
        return Backend(name, module.Interpreter, module.experimental.load_delegate)
    return Backend(name, module.Interpreter, module.load_delegate)


def load_backend(backend: str = "auto") -> Backend:
    """Return the interpreter package to use.

    Args:
        backend: ``"auto"`` (the order in this module's docstring) or one of :data:`BACKENDS`. The environment
            variable ``EDGEML_INTERPRETER`` overrides ``"auto"``.

    Raises:
        InterpreterUnavailableError: No usable package; the message lists what was tried and what to install.
        ValueError: ``backend`` is not a known name.
    """
    if backend == "auto":
        backend = os.environ.get("EDGEML_INTERPRETER", "auto") or "auto"
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"Unknown interpreter backend {backend!r}. Valid: auto, {', '.join(BACKENDS)}")
    candidates = BACKENDS if backend == "auto" else (backend,)
    failures = []
    for name in candidates:
        try:
            found = _import_backend(name)
        except InterpreterUnavailableError as exc:
            failures.append(f"{name}: {exc}")
        except ImportError as exc:
            failures.append(f"{name}: not installed ({exc.msg if hasattr(exc, 'msg') else exc})")
        else:
            if name == "tensorflow" and backend == "auto":
                log.warning("Using tensorflow.lite's interpreter (deprecated there); install ai-edge-litert.")
            return found
    raise InterpreterUnavailableError(
        "No usable TFLite interpreter. Tried: " + "; ".join(failures) + f". Install one: {_INSTALL}"
    )


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """Fail early, with the fix, when ``path`` is missing or is not a TFLite flatbuffer.

    Raises:
        ModelNotFoundError: The file does not exist.
        ModelFormatError: The file lacks the ``TFL3`` identifier (not a .tflite, or a Keras/ONNX/other file).
    """
    p = Path(path)
    if not p.is_file():
        raise ModelNotFoundError(f"Model file not found: {str(p)!r}. Check the path, or convert a Keras model "
                                 "with: edgeml convert MODEL --calibration DIR --output OUT_DIR")
    with p.open("rb") as f:
        head = f.read(8)
    if len(head) < 8 or head[4:8] != b"TFL3":
        hint = ""
        if p.suffix in {".keras", ".h5", ".pb"} or head[:4] == b"PK\x03\x04" or head[:4] == b"\x89HDF":
            hint = " It looks like a Keras model: convert it first with `edgeml convert`."
        raise ModelFormatError(
            f"{str(p)!r} is not a TFLite model (no 'TFL3' flatbuffer identifier; got {head[4:8]!r}).{hint}"
        )
    return p


def open_interpreter(
    model_path: str | os.PathLike[str],
    *,
    num_threads: int | None = None,
    delegates: list[Any] | None = None,
    backend: str = "auto",
) -> tuple[Any, Backend]:
    """Open ``model_path`` with the chosen backend and allocate its tensors.

    Args:
        model_path: Path to a ``.tflite`` file.
        num_threads: CPU threads for the interpreter's kernels (None: the backend's default).
        delegates: Delegates from ``Backend.load_delegate`` (e.g. the Edge TPU's), or None.
        backend: See :func:`load_backend`.

    Returns:
        ``(interpreter, backend)`` with tensors allocated.

    Raises:
        ModelNotFoundError, ModelFormatError: see :func:`check_model_file`; also a corrupt or truncated model.
        InterpreterUnavailableError: see :func:`load_backend`.
    """
    path = check_model_file(model_path)
    chosen = load_backend(backend)
    kwargs: dict[str, Any] = {"model_path": str(path)}
    if num_threads is not None:
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1. Received: {num_threads}")
        kwargs["num_threads"] = num_threads
    if delegates:
        kwargs["experimental_delegates"] = delegates
    with filtered_stderr(TFLITE_NOISE):
        interpreter = _create(chosen, path, kwargs)
    return interpreter, chosen


def _create(chosen: Backend, path: Path, kwargs: dict[str, Any]) -> Any:
    try:
        interpreter = chosen.interpreter_class(**kwargs)
    except ValueError as exc:
        raise ModelFormatError(
            f"{str(path)!r} could not be loaded by {chosen.name}: {exc}. The file is corrupt or truncated; "
            "copy or convert it again."
        ) from exc
    except SystemError as exc:  # numpy ABI mismatch inside a compiled interpreter
        raise InterpreterUnavailableError(
            f"{chosen.name} crashed while creating the interpreter ({exc}); this is the numpy 1/2 ABI break. "
            'Fix: pip install ai-edge-litert, or pip install "numpy<2"'
        ) from exc
    try:
        interpreter.allocate_tensors()
    except RuntimeError as exc:
        message = str(exc)
        if "edgetpu-custom-op" in message:
            raise ModelFormatError(
                f"{str(path)!r} was compiled for the Edge TPU and needs the Edge TPU delegate; "
                "pass device='usb' or 'pci' (libedgetpu1-std), or use the model from before edgetpu_compiler."
            ) from exc
        raise ModelFormatError(f"{str(path)!r} cannot be run by {chosen.name}: {message}") from exc
    return interpreter
