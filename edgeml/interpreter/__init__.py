"""The TFLite interpreter: which package provides it, and opening a model on the CPU or an Edge TPU.

- :mod:`~edgeml.interpreter.backends`: ``ai_edge_litert`` > ``tflite_runtime`` > ``tensorflow.lite``;
- :mod:`~edgeml.interpreter.devices`: device strings (``"cpu"``, ``"usb:0"``, ``"pci"``, ``"auto"``);
- :mod:`~edgeml.interpreter.open`: :func:`open_model`, the one place a model becomes an interpreter.
"""

from __future__ import annotations

from edgeml.interpreter.backends import BACKENDS, Backend, load_backend, tflite_runtime_problem
from edgeml.interpreter.devices import DEVICES, check_fallback, parse_device
from edgeml.interpreter.open import ModelInput, Opened, as_model_file, open_interpreter, open_model
from edgeml.model.file import check_model_file

__all__ = [
    "BACKENDS",
    "DEVICES",
    "Backend",
    "ModelInput",
    "Opened",
    "as_model_file",
    "check_fallback",
    "check_model_file",
    "load_backend",
    "open_interpreter",
    "open_model",
    "parse_device",
    "tflite_runtime_problem",
]
