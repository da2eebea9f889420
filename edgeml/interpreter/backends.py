"""Choose the TFLite interpreter package: the only place that knows which interpreter packages exist.

Order of preference (``backend="auto"``):

1. ``ai_edge_litert`` (LiteRT): maintained, numpy 1 and 2, wheels for x86-64 and aarch64 (Raspberry Pi OS 64-bit).
2. ``tflite_runtime``: frozen at 2.14 and built against numpy 1; under numpy 2 it fails inside ``Interpreter()``
   with a ``SystemError``, so it is refused up front with the fix.
3. ``tensorflow.lite``: works on a host with TensorFlow, deprecated there; used last and reported.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from edgeml.errors import InterpreterUnavailableError, InvalidArgumentError

__all__ = ["BACKENDS", "Backend", "load_backend", "tflite_runtime_problem"]

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
        from importlib import metadata  # here: it costs ~50 ms, and only this rare backend needs it

        try:
            version = metadata.version("tflite-runtime")
        except metadata.PackageNotFoundError:
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
        InvalidArgumentError: ``backend`` is not a known name.
    """
    if backend == "auto":
        backend = os.environ.get("EDGEML_INTERPRETER", "auto") or "auto"
    if backend != "auto" and backend not in BACKENDS:
        raise InvalidArgumentError(f"Unknown interpreter backend {backend!r}. Valid: auto, {', '.join(BACKENDS)}")
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
