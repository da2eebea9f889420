"""What a converted .tflite contains: ops, tensor dtypes, float leftovers (read with :mod:`edgeml.model.graph`)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from edgeml.model.graph import parse_graph

__all__ = ["GraphSummary", "float_ops", "summarize"]

# Ops that only move data between float and integer domains; a float tensor into these is expected at the I/O edge.
_CONVERSION_OPS = {"QUANTIZE", "DEQUANTIZE"}


@dataclass(frozen=True)
class GraphSummary:
    """Ops and tensor types of a model's main subgraph.

    Attributes:
        ops: Op name → count, e.g. ``{"CONV_2D": 2, "FULLY_CONNECTED": 2}`` (sorted by name).
        tensor_dtypes: Tensor type name → count over every tensor, e.g. ``{"INT8": 20, "INT32": 4}``.
        op_input_dtypes: One ``(op name, input type names)`` per op, in execution order.
        input_dtype, output_dtype: Types of the first input and output tensor.
    """

    ops: dict[str, int]
    tensor_dtypes: dict[str, int]
    op_input_dtypes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    input_dtype: str = ""
    output_dtype: str = ""
    input_quantization: tuple[float, int] | None = None  # (scale, zero_point) of the first input, if quantized


def summarize(model: bytes) -> GraphSummary:
    """Return the :class:`GraphSummary` of a .tflite flatbuffer (an appended zip is ignored).

    Type names are the schema's (``"INT8"``, ``"FLOAT32"``); custom ops are ``"CUSTOM:<code>"``.
    """
    sg = parse_graph(model).main
    per_op = [(f"CUSTOM:{op.custom_code or ''}" if op.is_custom else op.name,
               tuple(sg.tensors[i].dtype.upper() for i in op.inputs if i >= 0)) for op in sg.operators]
    first_in, first_out = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    q = first_in.quantization
    return GraphSummary(
        ops=dict(sorted(collections.Counter(name for name, _ in per_op).items())),
        tensor_dtypes=dict(sorted(collections.Counter(t.dtype.upper() for t in sg.tensors).items())),
        op_input_dtypes=per_op,
        input_dtype=first_in.dtype.upper(),
        output_dtype=first_out.dtype.upper(),
        input_quantization=(float(q.scale[0]), int(q.zero_point[0])) if q is not None and q.scale else None,
    )


def float_ops(summary: GraphSummary) -> list[str]:
    """Return the names of compute ops that run in float in a model meant to be fully integer (sorted, unique).

    TensorFlow's converter leaves an op without an int8 kernel in float, wrapped in DEQUANTIZE/QUANTIZE, instead
    of failing: such a model is slower, not Edge-TPU-ready and not what ``--quantize int8`` promises.
    """
    return sorted({name for name, inputs in summary.op_input_dtypes
                   if name not in _CONVERSION_OPS and any(t in ("FLOAT32", "FLOAT16") for t in inputs)})

