"""Read a .tflite flatbuffer's graph without TensorFlow: ops in order, tensors, constness, metadata entries.

Why a small reader of our own instead of ``schema_py_generated`` or the ``flatbuffers`` package:

- ``tflite_runtime`` (still common on Pis) ships no ``schema_py_generated.py``, and the ``flatbuffers`` package is a
  dependency of ``ai-edge-litert`` only; the runtime must read models with whichever interpreter is installed.
- The generated module is ~20k lines (slow to import on a Pi) and its API changes between schema versions (e.g.
  ``BuiltinCode()`` vs ``DeprecatedBuiltinCode()``); we need a dozen fields whose vtable slots are fixed forever by
  ``schema.fbs`` (flatbuffers only ever append fields).
- Reading with ``struct.unpack_from`` on the file bytes (:mod:`edgeml.model._flatbuf`, shared with the metadata reader)
  is bounds-checked, so a truncated or corrupt file becomes one :class:`~edgeml.errors.ModelFormatError` instead
  of an ``IndexError`` deep inside.
  It reads EfficientNet-Lite0's graph in a few milliseconds (constant data is never copied).

``tests/unit/model/test_model_file.py`` checks every field against ``schema_py_generated``'s answers on real models.
Field slots below are the declaration order in ``tensorflow/compiler/mlir/lite/schema/schema.fbs``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeml.errors import ModelFormatError
from edgeml.model._flatbuf import Table, root
from edgeml.model.schema import ACTIVATIONS, BUILTIN_OPERATORS, TENSOR_TYPES

__all__ = ["Graph", "Operator", "Quantization", "Subgraph", "Tensor", "parse_graph"]

_CUSTOM = 32  # BuiltinOperator.CUSTOM

# Builtin options decoded per op: name -> (vtable slot, struct format, default). Slots from schema.fbs tables.
_CONV = {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
         "fused_activation": (3, "b", 0), "dilation_w": (4, "i", 1), "dilation_h": (5, "i", 1)}
_DEPTHWISE = {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
              "depth_multiplier": (3, "i", 0), "fused_activation": (4, "b", 0), "dilation_w": (5, "i", 1),
              "dilation_h": (6, "i", 1)}
_POOL = {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0), "filter_w": (3, "i", 0),
         "filter_h": (4, "i", 0), "fused_activation": (5, "b", 0)}
_ACT0 = {"fused_activation": (0, "b", 0)}
_OPTIONS: dict[str, dict[str, tuple[int, str, Any]]] = {
    "CONV_2D": _CONV, "DEPTHWISE_CONV_2D": _DEPTHWISE, "AVERAGE_POOL_2D": _POOL, "MAX_POOL_2D": _POOL,
    "L2_POOL_2D": _POOL, "ADD": _ACT0, "MUL": _ACT0, "SUB": _ACT0, "DIV": _ACT0,
    "CONCATENATION": {"axis": (0, "i", 0), "fused_activation": (1, "b", 0)},
    "FULLY_CONNECTED": {"fused_activation": (0, "b", 0), "weights_format": (1, "b", 0), "keep_num_dims": (2, "?", 0)},
    "STRIDED_SLICE": {"begin_mask": (0, "i", 0), "end_mask": (1, "i", 0), "ellipsis_mask": (2, "i", 0),
                      "new_axis_mask": (3, "i", 0), "shrink_axis_mask": (4, "i", 0)},
    "TRANSPOSE_CONV": {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
                       "fused_activation": (3, "b", 0)},
    "MEAN": {"keep_dims": (0, "?", 0)}, "SUM": {"keep_dims": (0, "?", 0)},
    "REDUCE_MAX": {"keep_dims": (0, "?", 0)}, "REDUCE_MIN": {"keep_dims": (0, "?", 0)},
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of a tensor: ``real = scale * (q - zero_point)``, per tensor or per axis."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0


@dataclass(frozen=True)
class Tensor:
    """One tensor of a subgraph.

    Attributes:
        shape: Static shape as stored (``-1``-free; dynamic dims show in ``shape_signature``).
        shape_signature: Shape with ``-1`` for dynamic dims, or None when the converter wrote none.
        dtype: numpy-style name, e.g. ``"int8"``, ``"uint8"``, ``"float32"``, ``"int32"``.
        buffer: Index into the model's buffers (0 = none).
        is_constant: True when its buffer holds data (weights, biases, shape operands).
    """

    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...] | None
    dtype: str
    buffer: int
    is_constant: bool
    quantization: Quantization | None

    @property
    def is_dynamic(self) -> bool:
        """True when any dimension is unknown until run time (``-1`` in the shape signature)."""
        return any(d < 0 for d in (self.shape_signature or self.shape))


@dataclass(frozen=True)
class Operator:
    """One op, as the interpreter runs it (graph order).

    Attributes:
        name: Builtin name (``"CONV_2D"``) or, for custom ops, the custom code (``"edgetpu-custom-op"``).
        version: The op's version (what an older interpreter or ``edgetpu_compiler`` checks).
        options: The builtin options edgeml needs, e.g. ``{"fused_activation": "RELU6", "dilation_w": 1}``.
    """

    index: int
    name: str
    version: int
    builtin_code: int
    custom_code: str | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_custom(self) -> bool:
        return self.builtin_code == _CUSTOM


@dataclass(frozen=True)
class Subgraph:
    name: str
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class Graph:
    """A parsed .tflite: subgraphs (the first is the main graph), description and metadata entries.

    Attributes:
        metadata_entries: The flatbuffer's ``metadata`` list: name -> buffer bytes (e.g. ``"min_runtime_version"``,
            ``"TFLITE_METADATA"``).
    """

    schema_version: int
    description: str | None
    subgraphs: tuple[Subgraph, ...]
    metadata_entries: dict[str, bytes]
    size: int
    _data: bytes = field(default=b"", repr=False, compare=False)
    _spans: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def main(self) -> Subgraph:
        return self.subgraphs[0]

    def buffer_span(self, index: int) -> tuple[int, int]:
        """Return ``(byte offset, byte length)`` of buffer ``index``'s inline data in the file; ``(0, 0)`` if none."""
        return self._spans[index] if 0 <= index < len(self._spans) else (0, 0)

    def constant(self, tensor: Tensor) -> np.ndarray | None:
        """Return a constant tensor's values (a read-only view, ``tensor.shape``), or None if not constant.

        Only inline buffers are read (every model under 2 GB); numeric dtypes only.
        """
        if not tensor.is_constant or tensor.buffer >= len(self._spans):
            return None
        start, n = self._spans[tensor.buffer]
        try:
            dtype = np.dtype(tensor.dtype).newbyteorder("<")
        except TypeError:
            return None
        if not start or n % dtype.itemsize:
            return None
        values = np.frombuffer(self._data, dtype, n // dtype.itemsize, start)
        return values.reshape(tensor.shape) if values.size == int(np.prod(tensor.shape)) else values


def _op_codes(model: Table) -> list[tuple[int, str | None, int]]:
    codes = []
    for oc in model.tables(1):
        code = max(oc.scalar(0, "b", 0), oc.scalar(3, "i", 0))  # deprecated byte code vs int32 code
        codes.append((code, oc.string(1), oc.scalar(2, "i", 1)))
    return codes


def _buffer_spans(model: Table) -> tuple[list[tuple[int, int]], list[int]]:
    spans, sizes = [], []
    for b in model.tables(4):
        start, n = b.vector(0)
        spans.append((start, n))
        sizes.append(n or int(b.scalar(2, "Q", 0)))  # inline data, else offset/size (models > 2 GB)
    return spans, sizes


def _options(op: Table, name: str) -> dict[str, Any]:
    spec = _OPTIONS.get(name)
    table = op.table(4) if spec else None
    if spec is None or table is None:
        return {}
    out = {key: table.scalar(slot, fmt, default) for key, (slot, fmt, default) in spec.items()}
    if "fused_activation" in out:
        act = out["fused_activation"]
        out["fused_activation"] = ACTIVATIONS[act] if 0 <= act < len(ACTIVATIONS) else str(act)
    return out


def _tensor(t: Table, index: int, sizes: list[int]) -> Tensor:
    type_code = t.scalar(1, "b", 0)
    buffer = t.scalar(2, "I", 0)
    q = t.table(4)
    quant = None
    if q is not None:
        scale = q.numbers(2, "f")
        if scale:
            quant = Quantization(tuple(scale), tuple(q.numbers(3, "q") or (0,) * len(scale)), q.scalar(6, "i", 0))
    signature = t.numbers(7, "i")
    return Tensor(
        index=index, name=t.string(3) or "", shape=tuple(t.numbers(0, "i") or ()),
        shape_signature=tuple(signature) if signature is not None else None,
        dtype=TENSOR_TYPES[type_code] if 0 <= type_code < len(TENSOR_TYPES) else f"type{type_code}",
        buffer=buffer, is_constant=0 < buffer < len(sizes) and sizes[buffer] > 0, quantization=quant,
    )


def parse_graph(data: bytes, source: str = "<bytes>") -> Graph:
    """Parse TFLite flatbuffer bytes (an appended zip archive is ignored).

    Raises:
        ModelFormatError: Not a TFLite flatbuffer, or truncated/corrupt.
    """
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFormatError(f"{source!r} is not a TFLite model (no 'TFL3' identifier).")
    try:
        model = root(data)
        codes = _op_codes(model)
        spans, sizes = _buffer_spans(model)
        subgraphs = []
        for sg in model.tables(2):
            tensors = tuple(_tensor(t, i, sizes) for i, t in enumerate(sg.tables(0)))
            ops = []
            for i, op in enumerate(sg.tables(3)):
                code, custom, version = codes[op.scalar(0, "I", 0)]
                name = (custom or "CUSTOM") if code == _CUSTOM else (
                    BUILTIN_OPERATORS[code] if code < len(BUILTIN_OPERATORS) else f"BUILTIN_{code}")
                ops.append(Operator(i, name, version, code, custom, tuple(op.numbers(1, "i") or ()),
                                    tuple(op.numbers(2, "i") or ()), _options(op, name)))
            subgraphs.append(Subgraph(sg.string(4) or "", tensors, tuple(ops), tuple(sg.numbers(1, "i") or ()),
                                      tuple(sg.numbers(2, "i") or ())))
        metadata = {}
        for m in model.tables(6):
            index = m.scalar(1, "I", 0)
            start, n = spans[index] if index < len(spans) else (0, 0)
            metadata[m.string(0) or ""] = bytes(data[start:start + n])
    except (ModelFormatError, struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ModelFormatError(
            f"{source!r} is a truncated or corrupt TFLite flatbuffer ({exc}). Copy or convert the model again."
        ) from exc
    if not subgraphs:
        raise ModelFormatError(f"{source!r} has no subgraph; it is not a runnable model. Convert it again.")
    return Graph(model.scalar(0, "I", 0), model.string(3), tuple(subgraphs), metadata, len(data), data,
                     tuple(spans))
