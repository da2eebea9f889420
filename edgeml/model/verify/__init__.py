"""The model verifier: every .tflite is checked here before any interpreter sees it.

Two passes over the file's bytes, both numpy-vectorised (a few milliseconds on EfficientNet-Lite0):

1. :mod:`~edgeml.model.verify.structure`: the flatbuffer against TFLite's whole ``schema.fbs`` with FlatBuffers'
   own Verifier rules (offsets, vtables, vectors and strings bounds-checked and aligned, UTF-8, depth and table
   limits); the schema tables are generated from LiteRT's sources (``_schema.py``);
2. :mod:`~edgeml.model.verify.semantic`: its meaning (indices, buffer sizes, shapes, quantization, dataflow,
   options, op versions the interpreter has kernels for: ``_op_versions.py``, from LiteRT's ``register.cc``).

:class:`edgeml.model.ModelFile` runs both on first use (:meth:`~edgeml.model.ModelFile.verify`) and
:func:`edgeml.interpreter.open_interpreter` refuses a file that fails. :func:`edgeml.verify_model` adds the
child-process probe for what no static check can prove.
"""

from __future__ import annotations

from edgeml.model.verify.check import check_layout, check_structure, format_error
from edgeml.model.verify.semantic import MAX_TENSOR_BYTES, Facts
from edgeml.model.verify.structure import Layout

__all__ = ["MAX_TENSOR_BYTES", "Facts", "Layout", "check_layout", "check_structure", "format_error"]
