"""What a converted .tflite contains, read from its flatbuffer on the host: ops, tensor dtypes, float leftovers.

Uses TensorFlow's generated model-schema classes (``tensorflow/lite/python/schema_py_generated.py``); the device
runtime never imports this module.
"""

from __future__ import annotations

import collections
import importlib
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType

__all__ = ["GraphSummary", "float_ops", "schema", "summarize"]

# Ops that only move data between float and integer domains; a float tensor into these is expected at the I/O edge.
_CONVERSION_OPS = {"QUANTIZE", "DEQUANTIZE"}


@cache
def schema() -> ModuleType:
    """Return TensorFlow's generated TFLite model-schema module (host only)."""
    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("reading .tflite graphs")
    return importlib.import_module("tensorflow.lite.python.schema_py_generated")


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
    """Return the :class:`GraphSummary` of a .tflite flatbuffer (an appended zip is ignored)."""
    fb = schema()
    m = fb.ModelT.InitFromPackedBuf(bytearray(model), 0)
    op_names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
    sg = m.subgraphs[0]
    per_op: list[tuple[str, tuple[str, ...]]] = []
    for op in sg.operators:
        code = m.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = op_names.get(builtin, str(builtin))
        if name == "CUSTOM":
            name = f"CUSTOM:{_str(code.customCode)}"
        inputs = tuple(type_names.get(sg.tensors[i].type, "?") for i in (op.inputs if op.inputs is not None else ())
                       if i >= 0)
        per_op.append((name, inputs))
    q = sg.tensors[sg.inputs[0]].quantization
    quant = (float(q.scale[0]), int(q.zeroPoint[0])) if q is not None and q.scale is not None and len(q.scale) else None
    tensors = collections.Counter(type_names.get(t.type, "?") for t in sg.tensors)
    return GraphSummary(
        ops=dict(sorted(collections.Counter(name for name, _ in per_op).items())),
        tensor_dtypes=dict(sorted(tensors.items())),
        op_input_dtypes=per_op,
        input_dtype=type_names.get(sg.tensors[sg.inputs[0]].type, "?"),
        output_dtype=type_names.get(sg.tensors[sg.outputs[0]].type, "?"),
        input_quantization=quant,
    )


def float_ops(summary: GraphSummary) -> list[str]:
    """Return the names of compute ops that run in float in a model meant to be fully integer (sorted, unique).

    TensorFlow's converter leaves an op without an int8 kernel in float, wrapped in DEQUANTIZE/QUANTIZE, instead
    of failing: such a model is slower, not Edge-TPU-ready and not what ``--quantize int8`` promises.
    """
    return sorted({name for name, inputs in summary.op_input_dtypes
                   if name not in _CONVERSION_OPS and any(t in ("FLOAT32", "FLOAT16") for t in inputs)})


def _str(value: bytes | str | None) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")
