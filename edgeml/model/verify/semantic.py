"""Check what a structurally valid TFLite flatbuffer means: every index in range, every buffer the right size.

The checks the interpreter does not make before it trusts a file (LiteRT runs FlatBuffers' structural verifier,
not ``tflite/core/tools/verifier.cc``), plus those of that verifier, vectorised over all tensors and ops:

- the schema version; at least one subgraph; buffer 0 empty (the sentinel every activation points at);
- op codes known to the schema; with ``runtime=True`` also a kernel for every builtin op at its version
  (:data:`~edgeml.model.verify._op_versions.OP_VERSIONS`, from LiteRT's ``register.cc``);
- tensors: a known type, a buffer index in range, non-negative dims whose product (dims > 1) fits int32, a shape
  signature of the same rank agreeing with the shape, constant data of exactly ``prod(shape) x itemsize`` bytes
  (packed int4/int2, string tensors' offset tables, sparse tensors' index arrays checked on their own), and the
  activations' total below ``max_tensor_bytes``;
- quantization: as many zero points as scales, one scale or one per channel of the quantized dimension (which
  exists), every scale finite and > 0, zero points in the type's range;
- ops: an op code index in range; inputs, outputs and intermediates tensors of the subgraph (-1, "none", only
  where the op has optional inputs); every input produced before it is read (a constant, a variable, a subgraph
  input or an earlier op's output), no output written twice or onto a constant; the options the kernel reads
  present, of the right type and in range (strides, dilations, filter sizes >= 1, padding and activation
  enums); RESHAPE's new shape of the output's rank; subgraph indices of IF/WHILE/CALL_ONCE and StableHLO ops in
  range and calling no subgraph that calls back (recursion);
- subgraph inputs/outputs, signature defs, metadata entries and external (> 2 GB) buffer and custom-option
  offsets in range.

A fault raises :class:`SemanticError` with where and what, e.g. ``subgraph 0 op 12 CONV_2D: input 3 is tensor 999
but the subgraph has 210 tensors``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgeml.model.schema import BUILTIN_OPERATORS, TENSOR_TYPES
from edgeml.model.verify._op_versions import OP_VERSIONS
from edgeml.model.verify._schema import TABLES, UNIONS
from edgeml.model.verify.structure import Layout, View

__all__ = ["MAX_TENSOR_BYTES", "SCHEMA_VERSION", "Facts", "SemanticError", "check_meaning"]

Where = Callable[[int], str]  # row -> "subgraph 0 op 12 CONV_2D", only called to word an error
SCHEMA_VERSION = 3  # TFLITE_SCHEMA_VERSION
MAX_TENSOR_BYTES = 1 << 30  # activations of one model: 1 GiB (a Raspberry Pi has 1-8 GiB)
_INT32_MAX = 2**31 - 1
_CUSTOM = 32
_STRING, _RESOURCE, _VARIANT = 5, 13, 14
# Bytes per element by TensorType (0: variable-size); int4/uint4/int2 are packed (fractions).
_ITEMSIZE = np.array([4, 2, 4, 1, 8, 0, 1, 2, 8, 1, 8, 16, 8, 0, 0, 4, 2, 0.5, 2, 0.25, 0.5, 1, 1])
# Zero-point range by TensorType, for the types whose quantization has one.
_ZP_RANGE = {3: (0, 255), 9: (-128, 127), 7: (-32768, 32767), 17: (-8, 7), 20: (0, 15), 19: (-2, 1),
             2: (-(2**31), 2**31 - 1), 16: (0, 65535)}
_ZP_LOW = np.array([_ZP_RANGE.get(t, (-(2**63), 0))[0] for t in range(len(TENSOR_TYPES))], np.int64)
_ZP_HIGH = np.array([_ZP_RANGE.get(t, (0, 2**63 - 1))[1] for t in range(len(TENSOR_TYPES))], np.int64)
_ANY_OPTIONAL = {"LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM",
                 "BIDIRECTIONAL_SEQUENCE_RNN", "UNIDIRECTIONAL_SEQUENCE_RNN", "RNN", "SVDF"}
_OPTIONAL_INPUTS = {"FULLY_CONNECTED": {2}, "CONV_2D": {2}, "DEPTHWISE_CONV_2D": {2}, "TRANSPOSE_CONV": {3},
                    "CONV_3D": {2}, "CONV_3D_TRANSPOSE": {3}}
# Ops whose kernels read options with invalid defaults (a stride of 0): the options must be there.
_REQUIRED_OPTIONS = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                     "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
                     "TRANSPOSE_CONV": "TransposeConvOptions", "CONV_3D": "Conv3DOptions",
                     "CONV_3D_TRANSPOSE": "Conv3DOptions", "IF": "IfOptions", "WHILE": "WhileOptions",
                     "CALL_ONCE": "CallOnceOptions"}
_EIGHT_SIXTEEN = (3, 9, 7)  # uint8, int8, int16: the types whose kernels compute with scales
_FLOAT32_TINY = np.float32(np.finfo(np.float32).tiny)  # smallest normal float32: XNNPACK refuses subnormal scales
# Kernels that compute with the scales of their 8/16-bit tensors: each such tensor must be quantized, or the
# multiplier they derive is infinite and TFLite aborts (QuantizeMultiplier's TFLITE_CHECK).
_QUANT_MATH = frozenset((
    "ADD", "SUB", "MUL", "DIV", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D",
    "AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD",
    "SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "TANH", "CONCATENATION", "QUANTIZE", "DEQUANTIZE", "HARD_SWISH",
    "LEAKY_RELU", "PRELU", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "SQUARED_DIFFERENCE", "LESS",
    "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "MAXIMUM", "MINIMUM", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "BATCH_MATMUL", "ELU", "EXP", "LOG", "RSQRT", "SQRT", "SQUARE", "ABS", "NEG",
    "GELU", "PAD", "PADV2", "MIRROR_PAD", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "L2_NORMALIZATION",
    "LOCAL_RESPONSE_NORMALIZATION", "SVDF", "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "SELECT", "SELECT_V2",
))
# Ops whose output has the type of their (data) inputs: a tensor of another type is a damaged table.
_SAME_TYPE = {name: inputs for names, inputs in (
    (("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"), (0, 1)),
    (("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN",
      "SUM", "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH",
      "HARD_SWISH", "LEAKY_RELU", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "PAD", "PADV2", "TRANSPOSE",
      "STRIDED_SLICE", "SLICE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE",
      "TILE", "ELU", "PRELU", "GELU"), (0,)),
) for name in names}
_CONVOLUTIONS = {"CONV_2D": (0, 1), "DEPTHWISE_CONV_2D": (0, 1), "FULLY_CONNECTED": (0, 1), "TRANSPOSE_CONV": (2, 1),
                 "CONV_3D": (0, 1)}  # op -> (data input, weights input)
# Inputs each kernel indexes without checking, as (at least, at most); the kernels' own Prepare checks the rest.
_ARITY = {name: bounds for names, bounds in (
    (("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "LESS", "LESS_EQUAL", "GREATER",
      "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "PRELU", "TILE", "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN",
      "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL", "GATHER", "BATCH_MATMUL", "ARG_MAX", "ARG_MIN", "EXPAND_DIMS",
      "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "TRANSPOSE"), (2, 3)),
    (("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"), (2, 4)),
    (("PAD", "PADV2", "MIRROR_PAD"), (2, 3)), (("STRIDED_SLICE", "SLICE"), (3, 4)), (("TRANSPOSE_CONV",), (3, 4)),
    (("RESHAPE",), (1, 2)), (("CONCATENATION", "PACK", "ADD_N"), (1, 1 << 20)),
    (("SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "HARD_SWISH",
      "LEAKY_RELU", "QUANTIZE", "DEQUANTIZE", "AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "SQUEEZE", "SHAPE",
      "CAST", "ABS", "NEG", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "FLOOR", "CEIL", "ROUND", "ELU", "GELU",
      "L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "UNPACK",
      "ZEROS_LIKE", "RANK", "SIN", "COS", "LOGICAL_NOT"), (1, 1)),
) for name in names}
_NO_OUTPUT = frozenset(("ASSIGN_VARIABLE", "CALL_ONCE", "HASHTABLE_IMPORT"))
_POSITIVE = {"stride_w": 0, "stride_h": 0, "stride_d": 0, "filter_width": 0, "filter_height": 0,
             "dilation_w_factor": 1, "dilation_h_factor": 1, "dilation_d_factor": 1}  # name -> schema default
_ENUMS = {"padding": 2, "fused_activation_function": 6}  # name -> number of values


class SemanticError(Exception):
    """A file whose structure is sound but whose contents are not: ``where`` and ``problem`` say which.

    Attributes:
        runtime: True when the file is sound but this interpreter cannot run it (an op version it lacks).
    """

    def __init__(self, where: str, problem: str, runtime: bool = False) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where, self.problem, self.runtime = where, problem, runtime


@dataclass(frozen=True)
class Facts:
    """What the checks established, for callers that report on a model.

    Attributes:
        subgraphs, tensors, operators, buffers: Counts.
        tensor_bytes: Bytes of the activations (non-constant tensors, static shapes) of every subgraph.
        op_names: Each op code's name (``"CONV_2D"`` or the custom code), by op code index.
        classes: Elements of the main subgraph's first output (a classifier's class count), or None.
    """

    subgraphs: int
    tensors: int
    operators: int
    buffers: int
    tensor_bytes: int
    op_names: tuple[str, ...]
    classes: int | None = None


def check_meaning(layout: Layout, *, runtime: bool = True, max_tensor_bytes: int = MAX_TENSOR_BYTES) -> Facts:
    """Check the meaning of a structurally verified model (see the module docstring).

    Args:
        layout: From :func:`edgeml.model.verify.structure.verify_structure`.
        runtime: Also check that this interpreter has a kernel for every op at its version.
        max_tensor_bytes: Refuse models whose activations need more memory than this.

    Raises:
        SemanticError: The first fault found.
    """
    model = layout.root
    version = int(model.scalars("version", "<u4")[0])
    if version != SCHEMA_VERSION:
        raise SemanticError("model", f"schema version {version}; TFLite models are version {SCHEMA_VERSION}")
    codes, names = _op_codes(model.child("OperatorCode", "operator_codes"), runtime)
    buffers = model.child("Buffer", "buffers")
    nbuf = len(buffers)
    sizes = _buffer_sizes(layout, buffers)
    subgraphs = model.child("SubGraph", "subgraphs")
    if not len(subgraphs):
        raise SemanticError("model", "it has no subgraph (nothing to run)")
    ntensors = subgraphs.counts("tensors")
    tensors, dtype, shapes, tensor_bytes = _tensors(layout, subgraphs, ntensors, sizes, max_tensor_bytes)
    _subgraph_io(subgraphs, ntensors)
    ops, produced = _operators(layout, subgraphs, ntensors, codes, names, tensors, dtype, shapes)
    _outputs_written(layout, subgraphs, tensors, ntensors, produced)
    _signatures(model, len(subgraphs), ntensors)
    outputs, n_out = subgraphs.vectors("outputs", "<i4")
    classes = None
    if len(n_out) and n_out[0] > 0:
        dims, rank, _ = shapes
        classes = int(np.prod(_shape(dims, rank, int(outputs[0]))))  # subgraph 0's tensors come first
    for entry in model.child("Metadata", "metadata").scalars("buffer", "<u4").tolist():
        if entry >= nbuf:
            raise SemanticError("model.metadata", f"an entry names buffer {entry} but the model has {nbuf} buffers")
    return Facts(len(subgraphs), int(ntensors.sum()), ops, nbuf, tensor_bytes, names, classes)


def _op_codes(view: View, runtime: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each op code's builtin code (max of the old byte and the int32 field, as TFLite reads it); names."""
    code = np.maximum(view.scalars("deprecated_builtin_code", "i1").astype(np.int64),
                      view.scalars("builtin_code", "<i4").astype(np.int64))
    version = view.scalars("version", "<i4", 1)
    names = []
    for i, (c, v) in enumerate(zip(code.tolist(), version.tolist(), strict=False)):
        where = f"op code {i}"
        if not 0 <= c < len(BUILTIN_OPERATORS):
            raise SemanticError(where, f"builtin code {c} is not an op of this runtime's schema "
                                f"(0..{len(BUILTIN_OPERATORS) - 1})")
        name = BUILTIN_OPERATORS[c]
        if c == _CUSTOM:
            name = view.string("custom_code", i) or ""
            if not name:
                raise SemanticError(where, "a custom op without a name")
        if v < 1:
            raise SemanticError(where, f"{name} has version {v} (versions start at 1)")
        if runtime and c != _CUSTOM:
            low, high = OP_VERSIONS.get(c, (0, 0))
            if not low:
                raise SemanticError(where, f"the interpreter has no kernel for builtin op {name}", runtime=True)
            if not low <= v <= high:
                raise SemanticError(where, f"{name} version {v} is not one the interpreter runs (versions "
                                    f"{low}..{high})", runtime=True)
        names.append(name)
    return code, tuple(names)


def _buffer_sizes(layout: Layout, buffers: View) -> np.ndarray:
    """Bytes of inline data per buffer; external (> 2 GB model) data checked against the file."""
    sizes = buffers.counts("data")
    if len(sizes) and sizes[0]:
        raise SemanticError("buffer 0", f"holds {int(sizes[0])} bytes; it must be empty (the buffer of every "
                            "tensor without constant data)")
    offset = buffers.scalars("offset", "<u8")
    external = offset > 1
    if np.count_nonzero(external):
        size = buffers.scalars("size", "<u8")
        bad = external & ((size > layout.size) | (offset > layout.size - np.minimum(size, layout.size)))
        if np.count_nonzero(bad):
            i = int(np.argmax(bad))
            raise SemanticError(f"buffer {i}", f"its external data ({int(size[i])} bytes at {int(offset[i])}) lies "
                                f"outside the {layout.size}-byte file")
        sizes = np.where(external, size.astype(np.int64), sizes)
    return sizes


def _tensor_name(tensors: View, sg: np.ndarray, idx: np.ndarray, i: int) -> str:
    name = tensors.string("name", i)
    return f"subgraph {int(sg[i])} tensor {int(idx[i])}" + (f" ({name[:60]!r})" if name else "")


def _tensors(layout: Layout, subgraphs: View, ntensors: np.ndarray, sizes: np.ndarray,
             max_bytes: int) -> tuple[View, np.ndarray, tuple[np.ndarray, np.ndarray, _Scales], int]:
    tensors = subgraphs.child("Tensor", "tensors")
    sg = _subgraph_of(layout, subgraphs, tensors)
    idx = tensors.index()
    where = lambda i: _tensor_name(tensors, sg, idx, i)  # noqa: E731 - only evaluated to word an error
    dtype = tensors.scalars("type", "i1").astype(np.int64)
    bad = (dtype < 0) | (dtype >= len(TENSOR_TYPES))
    if np.count_nonzero(bad):
        i = int(np.argmax(bad))
        raise SemanticError(where(i), f"unknown tensor type {int(dtype[i])}")
    buffer = tensors.scalars("buffer", "<u4").astype(np.int64)
    bad = buffer >= len(sizes)
    if np.count_nonzero(bad):
        i = int(np.argmax(bad))
        raise SemanticError(where(i), f"names buffer {int(buffer[i])} but the model has {len(sizes)} buffers")
    dims, rank = tensors.vectors("shape", "<i4")
    dims = dims.astype(np.int64)
    if np.count_nonzero(dims < 0):
        i = int(np.searchsorted(np.cumsum(rank), int(np.argmax(dims < 0)), side="right"))
        raise SemanticError(where(i), f"negative dimension in its shape ({_shape(dims, rank, i)})")
    starts = np.cumsum(rank) - rank
    elements = _segment_product(dims.astype(np.float64), starts, rank)
    positive = _segment_product(np.maximum(dims, 1).astype(np.float64), starts, rank)
    bad = positive > _INT32_MAX
    if np.count_nonzero(bad):
        i = int(np.argmax(bad))
        raise SemanticError(where(i), f"shape {_shape(dims, rank, i)} has more than 2**31 elements")
    _signatures_agree(tensors, dims, rank, where)
    need = np.ceil(elements * _ITEMSIZE[dtype])
    data = sizes[buffer]
    constant = data > 0
    sparse = tensors.has("sparsity")
    plain = constant & ~sparse & (dtype != _STRING)
    bad = plain & ((need != data) | (_ITEMSIZE[dtype] == 0))
    if np.count_nonzero(bad):
        i = int(np.argmax(bad))
        raise SemanticError(where(i), f"its constant data is {int(data[i])} bytes but shape "
                            f"{_shape(dims, rank, i)} of {TENSOR_TYPES[dtype[i]]} needs {int(need[i])}")
    for i in np.flatnonzero(constant & (dtype == _STRING)).tolist():
        _check_string_tensor(layout, tensors, buffer[i], int(elements[i]), where(i))
    if np.count_nonzero(sparse):
        _check_sparse(layout, tensors, np.flatnonzero(sparse), dims, rank, data, dtype, where)
    activations = np.where(constant, 0, need)
    total = float(activations.sum())
    if total > max_bytes:
        i = int(np.argmax(activations))
        raise SemanticError("model", f"its tensors need {total / 2**20:,.0f} MiB (the largest: {where(i)}, "
                            f"{activations[i] / 2**20:,.0f} MiB), more than the {max_bytes / 2**20:,.0f} MiB limit")
    tensors_scale = _check_quantization(tensors, dtype, dims, rank, where)
    return tensors, dtype, (dims, rank, tensors_scale), int(total)


def _subgraph_of(layout: Layout, subgraphs: View, child: View) -> np.ndarray:
    """Subgraph index of each row of ``child`` (tensors or operators: tables of subgraph vectors)."""
    lookup = np.zeros(len(layout.levels[subgraphs.level].pos), np.int64)
    lookup[subgraphs.rows] = subgraphs.index()
    return lookup[child.parent_rows()]


def _segment_product(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """float64 product of each segment (1 for an empty one)."""
    out = np.ones(len(counts))
    nonempty = counts > 0
    if values.size and np.count_nonzero(nonempty):
        out[nonempty] = np.multiply.reduceat(values, starts[nonempty])
    return out


def _shape(dims: np.ndarray, rank: np.ndarray, i: int) -> list[int]:
    start = int(rank[:i].sum())
    return dims[start:start + int(rank[i])].tolist()


def _signatures_agree(tensors: View, dims: np.ndarray, rank: np.ndarray, where: Where) -> None:
    if not np.count_nonzero(tensors.has("shape_signature")):
        return
    sig, srank = tensors.vectors("shape_signature", "<i4")
    has = tensors.has("shape_signature")
    bad = has & (srank != rank)
    if not np.count_nonzero(bad) and sig.size:
        full = np.repeat(has, rank)
        mine = dims[full] if full.size else dims
        other = sig.astype(np.int64)
        wrong = (other != -1) & ((other < 0) | (other != mine))
        if np.count_nonzero(wrong):
            bad = np.zeros(len(rank), bool)
            owners = np.repeat(np.flatnonzero(has), srank[has])
            bad[owners[wrong]] = True
    if np.count_nonzero(bad):
        i = int(np.argmax(bad))
        raise SemanticError(where(i), f"shape signature {_shape(sig, srank, i)} disagrees with its shape "
                            f"{_shape(dims, rank, i)} (same rank; each dim -1 or equal)")


def _check_string_tensor(layout: Layout, tensors: View, buffer: int, elements: int, where: str) -> None:
    """A string tensor's data: count, then count + 1 int32 offsets rising to the end (tflite/string_util.h)."""
    buffers = layout.root.child("Buffer", "buffers")
    start, n = int(buffers.starts("data")[buffer]), int(buffers.counts("data")[buffer])
    raw = layout.u8[start:start + n]
    if n < 8 or n % 1 or len(raw) < 8:
        raise SemanticError(where, f"string data of {n} bytes is too short for its header")
    count = int(raw[:4].view("<i4")[0]) if n >= 4 else -1
    if count != elements or (count + 2) * 4 > n:
        raise SemanticError(where, f"string data holds {count} strings, the shape needs {elements}")
    offsets = np.frombuffer(bytes(raw[4:4 * (count + 2)]), "<i4").astype(np.int64)
    if offsets[0] != 4 * (count + 2) or offsets[-1] != n or np.count_nonzero(np.diff(offsets) < 0):
        raise SemanticError(where, "string data offsets do not rise from the header to the end of the data")


def _check_sparse(layout: Layout, tensors: View, rows: np.ndarray, dims: np.ndarray, rank: np.ndarray,
                  data: np.ndarray, dtype: np.ndarray, where: Where) -> None:
    """Sparse constant tensors: the index arrays describe exactly the values stored (tools/verifier.cc's rules)."""
    sparsity = tensors.child("SparsityParameters", "sparsity")
    lookup = {int(r): k for k, r in enumerate(sparsity.parent_rows().tolist())}
    order, order_n = sparsity.vectors("traversal_order", "<i4")
    block, block_n = sparsity.vectors("block_map", "<i4")
    dim_meta = sparsity.child("DimensionMetadata", "dim_metadata")
    meta_n = sparsity.counts("dim_metadata")
    fmt = dim_meta.scalars("format", "i1")
    dense = dim_meta.scalars("dense_size", "<i4")
    for i in rows.tolist():
        k = lookup[int(tensors.rows[i])]
        shape = _shape(dims, rank, i)
        o = _shape(order, order_n, k)
        b = _shape(block, block_n, k)
        n_total, r = len(o), len(shape)
        first = int(meta_n[:k].sum())
        if n_total < r or int(meta_n[k]) != n_total or sorted(o[:r]) != list(range(r)) or \
                sorted(o[r:]) != list(range(r, n_total)) or len(b) != n_total - r or any(not 0 <= m < r for m in b):
            raise SemanticError(where(i), "sparsity parameters do not describe its shape")
        expanded = shape + [0] * (n_total - r)
        for j in range(n_total - r):
            size = int(dense[first + r + j])
            if size <= 0 or expanded[b[j]] % size:
                raise SemanticError(where(i), "sparsity block sizes do not divide its shape")
            expanded[o[r + j]] = size
            expanded[b[j]] //= size
        count = 1
        for level in range(n_total):
            row = first + level
            if int(fmt[row]) == 0:
                if int(dense[row]) != expanded[o[level]]:
                    raise SemanticError(where(i), "a dense sparsity dimension disagrees with its shape")
                count *= int(dense[row])
            else:
                count = _sparse_level(layout, dim_meta, row, count, expanded[o[level]], where(i))
        if count > 2**32 or math.ceil(count * float(_ITEMSIZE[dtype[i]])) != int(data[i]):
            raise SemanticError(where(i), f"sparse data is {int(data[i])} bytes but its index arrays describe "
                                f"{count} values")


def _sparse_level(layout: Layout, dim_meta: View, row: int, count: int, size: int, where: str) -> int:
    values = []
    for field in ("array_segments", "array_indices"):
        found = None
        for type_, dt in (("Int32Vector", "<i4"), ("Uint16Vector", "<u2"), ("Uint8Vector", "u1")):
            vec = dim_meta.child(type_, field)
            hit = np.flatnonzero(vec.parent_rows() == dim_meta.rows[row])
            if len(hit):
                v, n = vec.vectors("values", dt)
                found = np.asarray(_shape(v.astype(np.int64), n, int(hit[0])), np.int64)
        if found is None:
            raise SemanticError(where, f"a sparse dimension has no {field}")
        values.append(found)
    seg, ind = values
    rising = not np.count_nonzero(np.diff(seg) < 0) and not np.count_nonzero(seg < 0)
    if len(seg) != count + 1 or not rising or int(seg[-1]) != len(ind) or np.count_nonzero((ind < 0) | (ind >= size)):
        raise SemanticError(where, "a sparse dimension's segments and indices are inconsistent")
    return len(ind)


@dataclass(frozen=True)
class _Scales:
    """Every tensor's scales: ``first[t]`` (0.0 when none), and ``values[start[k]:start[k] + count[k]]`` for the
    ``k``-th quantization table, which belongs to tensor ``owner[k]``."""

    first: np.ndarray
    values: np.ndarray
    owner: np.ndarray
    start: np.ndarray
    count: np.ndarray

    def of(self, tensor: int) -> np.ndarray:
        """The scales of one tensor (empty when it has none)."""
        table = self.__dict__.get("_table")
        if table is None:
            table = {int(t): (int(a), int(a + n)) for t, a, n in zip(self.owner, self.start, self.count, strict=True)}
            object.__setattr__(self, "_table", table)
        a, b = table.get(tensor, (0, 0))
        return self.values[a:b]


def _check_quantization(tensors: View, dtype: np.ndarray, dims: np.ndarray, rank: np.ndarray,
                        where: Where) -> _Scales:
    """Check every tensor's quantization; return the scales (for the ops' checks)."""
    first_scale = np.zeros(len(tensors))
    empty = np.zeros(0, np.int64)
    if not np.count_nonzero(tensors.has("quantization")):
        return _Scales(first_scale, np.zeros(0, np.float32), empty, empty, empty)
    q = tensors.child("QuantizationParameters", "quantization")
    owner = np.searchsorted(tensors.rows, q.parent_rows())
    scale, ns = q.vectors("scale", "<f4")
    zero, nz = q.vectors("zero_point", "<i8")
    qdim = q.scalars("quantized_dimension", "<i4").astype(np.int64)
    r = rank[owner]
    quantized = ns > 0
    for bad, problem in (
        (quantized & (nz != ns), "has {ns} scales but {nz} zero points (must be as many)"),
        (quantized & ((qdim < 0) | ((r > 0) & (qdim >= r))), "quantized dimension {qd} is not a dimension of it"),
    ):
        if np.count_nonzero(bad):
            k = int(np.argmax(bad))
            raise SemanticError(where(int(owner[k])), "quantization " + problem.format(
                ns=int(ns[k]), nz=int(nz[k]), qd=int(qdim[k])))
    per_axis = quantized & (ns > 1)
    if np.count_nonzero(per_axis):
        starts = np.cumsum(rank) - rank
        axis_len = np.where(per_axis & (r > 0), dims[np.minimum(starts[owner] + qdim, max(len(dims) - 1, 0))]
                            if len(dims) else 0, ns)
        bad = per_axis & (axis_len != ns)
        if np.count_nonzero(bad):
            k = int(np.argmax(bad))
            raise SemanticError(where(int(owner[k])), f"quantization has {int(ns[k])} scales but dimension "
                                f"{int(qdim[k])} has {int(axis_len[k])} channels (one scale, or one per channel)")
    bad = ~(np.isfinite(scale) & (scale >= _FLOAT32_TINY))
    if np.count_nonzero(bad):
        k = int(np.searchsorted(np.cumsum(ns), int(np.argmax(bad)), side="right"))
        value = float(scale[int(np.argmax(bad))])
        raise SemanticError(where(int(owner[k])), f"quantization scale {value!r} is not a finite number > 0 "
                            "(a normal float32)")
    if zero.size:
        nonempty = np.flatnonzero(nz > 0)
        starts = (np.cumsum(nz) - nz)[nonempty]
        low, high = np.minimum.reduceat(zero, starts), np.maximum.reduceat(zero, starts)
        t = dtype[owner[nonempty]]
        bad = (low < _ZP_LOW[t]) | (high > _ZP_HIGH[t])
        if np.count_nonzero(bad):
            k = int(np.argmax(bad))
            value = int(low[k]) if low[k] < _ZP_LOW[t[k]] else int(high[k])
            raise SemanticError(where(int(owner[nonempty[k]])), f"quantization zero point {value} is outside "
                                f"{TENSOR_TYPES[int(t[k])]}'s range {int(_ZP_LOW[t[k]])}..{int(_ZP_HIGH[t[k]])}")
    details = q.has("details")
    if np.count_nonzero(details):
        _check_quantization_details(q, tensors, owner, where)
    has = ns > 0
    first_scale[owner[has]] = scale[(np.cumsum(ns) - ns)[has]]
    return _Scales(first_scale, scale, owner, np.cumsum(ns) - ns, ns)


def _check_quantization_details(q: View, tensors: View, owner: np.ndarray, where: Where) -> None:
    ntensors = np.bincount(tensors.parent_rows(), minlength=1)
    for type_ in ("BlockwiseQuantization", "MultiAxisQuantization"):
        d = q.child(type_, "details")
        for field in ("scales", "zero_points"):
            values = d.scalars(field, "<i4", -1).astype(np.int64)
            parents = np.searchsorted(q.rows, d.parent_rows())
            for k, v in enumerate(values.tolist()):
                tensor = int(owner[parents[k]])
                limit = int(ntensors[tensors.parent_rows()[tensor]])
                if not -1 <= v < limit or (field == "scales" and v < 0):
                    raise SemanticError(where(tensor), f"{type_} {field} is tensor {v} but the subgraph has "
                                        f"{limit} tensors")


def _operators(layout: Layout, subgraphs: View, ntensors: np.ndarray, codes: np.ndarray, names: tuple[str, ...],
               tensors: View, dtype: np.ndarray,
               shapes: tuple[np.ndarray, np.ndarray, _Scales]) -> tuple[int, np.ndarray]:
    """Check every op; return the op count and which tensors (subgraph-major) some op writes."""
    ops = subgraphs.child("Operator", "operators")
    if not len(ops):
        return 0, np.zeros(len(tensors), bool)
    sg = _subgraph_of(layout, subgraphs, ops)
    idx = ops.index()
    opcode = ops.scalars("opcode_index", "<u4").astype(np.int64)
    bad = opcode >= len(codes)
    if np.count_nonzero(bad):
        i = int(np.argmax(bad))
        raise SemanticError(f"subgraph {int(sg[i])} op {int(idx[i])}",
                            f"op code index {int(opcode[i])} but the model has {len(codes)} op codes")
    code = codes[opcode]
    op_name = [names[c] for c in opcode.tolist()]
    where = lambda i: f"subgraph {int(sg[i])} op {int(idx[i])} {op_name[i]}"  # noqa: E731
    limit = ntensors[sg]
    first_tensor = np.cumsum(ntensors) - ntensors  # tensor rows are in subgraph order
    for field, low in (("inputs", -1), ("outputs", 0), ("intermediates", -1)):
        values, counts = ops.vectors(field, "<i4")
        values = values.astype(np.int64)
        lim = np.repeat(limit, counts)
        bad = (values < low) | (values >= lim)
        if np.count_nonzero(bad):
            j = int(np.argmax(bad))
            i = int(np.searchsorted(np.cumsum(counts), j, side="right"))
            pos = j - int(counts[:i].sum())
            raise SemanticError(where(i), f"{field[:-1]} {pos} is tensor {int(values[j])} but the subgraph has "
                                f"{int(limit[i])} tensors")
        if field == "inputs":
            inputs, in_counts = values, counts
        elif field == "outputs":
            outputs, out_counts = values, counts
    for i, name in enumerate(op_name):
        low, high = _ARITY.get(name, (0, 1 << 20))
        if code[i] != _CUSTOM and not low <= in_counts[i] <= high:
            raise SemanticError(where(i), f"has {int(in_counts[i])} inputs; {name} takes "
                                + (f"{low}" if low == high else f"{low} to {high}" if high < 1 << 20 else f"{low}+"))
        if code[i] != _CUSTOM and out_counts[i] == 0 and name not in _NO_OUTPUT:
            raise SemanticError(where(i), "has no output")
    _optional_inputs(inputs, in_counts, op_name, code, where)
    produced = _dataflow(layout, subgraphs, tensors, sg, first_tensor, inputs, in_counts, outputs, out_counts, where)
    _options(layout, ops, op_name, code, len(subgraphs), sg, where)
    _reshapes(layout, ops, op_name, inputs, in_counts, outputs, out_counts, sg, first_tensor, tensors, shapes,
              where)
    _quantized_math(op_name, code, inputs, in_counts, outputs, out_counts, sg, first_tensor, dtype, shapes[2], where)
    if "TILE" in op_name:
        _tiles(layout, op_name, inputs, in_counts, outputs, out_counts, sg, first_tensor, tensors, dtype, shapes,
               where)
    large = ops.scalars("large_custom_options_offset", "<u8")
    if np.count_nonzero(large > 1):
        size = ops.scalars("large_custom_options_size", "<u8")
        bad = (large > 1) & ((size > layout.size) | (large > layout.size - np.minimum(size, layout.size)))
        if np.count_nonzero(bad):
            i = int(np.argmax(bad))
            raise SemanticError(where(i), "its external custom options lie outside the file")
    return len(ops), produced


def _optional_inputs(inputs: np.ndarray, counts: np.ndarray, op_name: list[str], code: np.ndarray,
                     where: Where) -> None:
    missing = np.flatnonzero(inputs == -1)
    if not len(missing):
        return
    owner = np.searchsorted(np.cumsum(counts), missing, side="right")
    position = missing - (np.cumsum(counts) - counts)[owner]
    for j, i in zip(position.tolist(), owner.tolist(), strict=False):
        name = op_name[i]
        if code[i] == _CUSTOM or name in _ANY_OPTIONAL or j in _OPTIONAL_INPUTS.get(name, ()):
            continue
        raise SemanticError(where(i), f"input {j} is -1 (none), but {name} has no optional input {j}")


def _dataflow(layout: Layout, subgraphs: View, tensors: View, sg: np.ndarray, first: np.ndarray,
              inputs: np.ndarray, in_counts: np.ndarray, outputs: np.ndarray, out_counts: np.ndarray,
              where: Where) -> np.ndarray:
    """Every op input exists when the op runs; no op output overwrites another's, a constant or an input.

    Returns which tensors (subgraph-major) an op writes.
    """
    total = len(tensors)
    sizes = layout.root.child("Buffer", "buffers").counts("data")
    buffer = tensors.scalars("buffer", "<u4").astype(np.int64)
    fixed = (sizes[buffer] > 0) | tensors.scalars("is_variable", "u1").astype(bool)
    sg_inputs, sg_in_n = subgraphs.vectors("inputs", "<i4")
    graph_input = np.zeros(total, bool)
    if sg_inputs.size:
        keys = np.repeat(first[subgraphs.index()], sg_in_n) + sg_inputs.astype(np.int64)
        graph_input[keys[(keys >= 0) & (keys < total)]] = True
    op = np.arange(len(sg))
    out_op = np.repeat(op, out_counts)
    out_key = np.repeat(first[sg], out_counts) + outputs
    bad = fixed[out_key] | graph_input[out_key]
    if np.count_nonzero(bad):
        j = int(np.argmax(bad))
        kind = "a constant or variable" if fixed[out_key[j]] else "a subgraph input"
        raise SemanticError(where(int(out_op[j])), f"writes tensor {int(outputs[j])}, which is {kind}")
    order = np.argsort(out_key, kind="stable")
    dup = np.flatnonzero(np.diff(out_key[order]) == 0)
    if len(dup):
        j = int(order[dup[0] + 1])
        raise SemanticError(where(int(out_op[j])), f"writes tensor {int(outputs[j])}, which an earlier op "
                            "already wrote (a cycle, or two producers)")
    producer = np.full(total, len(sg), np.int64)
    producer[out_key] = out_op
    in_op = np.repeat(op, in_counts)
    real = inputs >= 0
    in_key = np.repeat(first[sg], in_counts) + inputs
    key = np.where(real, in_key, 0)
    ready = fixed[key] | graph_input[key] | (producer[key] < in_op)
    bad = real & ~ready
    if np.count_nonzero(bad):
        j = int(np.argmax(bad))
        later = producer[key[j]] < len(sg)
        raise SemanticError(where(int(in_op[j])), f"reads tensor {int(inputs[j])}, which "
                            + ("a later op writes" if later else "nothing writes (no data when it runs)"))
    return producer < len(sg)


def _outputs_written(layout: Layout, subgraphs: View, tensors: View, ntensors: np.ndarray,
                     produced: np.ndarray) -> None:
    """Every subgraph output is written by an op, or is a constant, a variable or one of its inputs."""
    outputs, counts = subgraphs.vectors("outputs", "<i4")
    if not outputs.size:
        return
    first = np.cumsum(ntensors) - ntensors
    sg = subgraphs.index()
    keys = np.repeat(first[sg], counts) + outputs.astype(np.int64)
    sizes = layout.root.child("Buffer", "buffers").counts("data")
    buffer = tensors.scalars("buffer", "<u4").astype(np.int64)
    fixed = (sizes[buffer] > 0) | tensors.scalars("is_variable", "u1").astype(bool)
    inputs, in_counts = subgraphs.vectors("inputs", "<i4")
    graph_input = np.zeros(len(tensors), bool)
    graph_input[np.repeat(first[sg], in_counts) + inputs.astype(np.int64)] = True
    bad = ~(produced[keys] | fixed[keys] | graph_input[keys])
    if np.count_nonzero(bad):
        j = int(np.argmax(bad))
        k = int(np.searchsorted(np.cumsum(counts), j, side="right"))
        raise SemanticError(f"subgraph {int(sg[k])}", f"output tensor {int(outputs[j])} is written by no op "
                            "(it would hold no data)")


def _options(layout: Layout, ops: View, op_name: list[str], code: np.ndarray, nsub: int, sg: np.ndarray,
             where: Where) -> None:
    """Options present where the kernel needs them, of the op's own type, their values in range; calls acyclic."""
    tag = ops.scalars("builtin_options_type", "u1").astype(np.int64)
    has = ops.has("builtin_options")
    members = UNIONS["BuiltinOptions"]
    for i, name in enumerate(op_name):
        want = _REQUIRED_OPTIONS.get(name)
        if want is None or code[i] == _CUSTOM:
            continue
        got = members[tag[i]] if has[i] and 0 < tag[i] < len(members) else None
        if got != want:
            raise SemanticError(where(i), f"its options are {got or 'missing'}; the kernel needs {want}")
    calls: dict[int, set[int]] = {}
    for union in ("builtin_options", "builtin_options_2"):
        for type_ in ops.child_types(union):
            view = ops.child(type_, union)
            owner = np.searchsorted(ops.rows, view.parent_rows())
            for field, _, kind, _arg in TABLES[type_]:
                if field in _POSITIVE:
                    values = view.scalars(field, "<i4", _POSITIVE[field])
                    bad = values < 1
                elif field in _ENUMS:
                    values = view.scalars(field, "i1")
                    bad = (values < 0) | (values >= _ENUMS[field])
                elif "subgraph" in field and kind in ("s", "vs"):
                    if kind == "s":
                        values = view.scalars(field, "<i4").astype(np.int64)
                        per_op = [[v] for v in values.tolist()]
                    else:
                        flat, n = view.vectors(field, "<i4")
                        first = (np.cumsum(n) - n).tolist()
                        per_op = [flat[a:a + c].tolist() for a, c in zip(first, n.tolist(), strict=True)]
                    for k, targets in enumerate(per_op):
                        i = int(owner[k])
                        for t in targets:
                            if not 0 <= t < nsub:
                                raise SemanticError(where(i), f"{field} is subgraph {t} but the model has {nsub}")
                            calls.setdefault(int(sg[i]), set()).add(int(t))
                    continue
                else:
                    continue
                if np.count_nonzero(bad):
                    k = int(np.argmax(bad))
                    raise SemanticError(where(int(owner[k])), f"option {field} = {int(values[k])} is out of range")
    _acyclic(calls)


def _acyclic(calls: dict[int, set[int]]) -> None:
    """Refuse a subgraph that calls itself, directly or through others (the interpreter would recurse)."""
    state: dict[int, int] = {}
    for start in calls:
        stack = [(start, iter(sorted(calls.get(start, ()))))]
        if state.get(start) == 2:
            continue
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise SemanticError(f"subgraph {nxt}", "calls itself through control-flow ops (recursion)")
            elif state.get(nxt) is None:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(calls.get(nxt, ())))))


def _reshapes(layout: Layout, ops: View, op_name: list[str], inputs: np.ndarray, in_counts: np.ndarray,
              outputs: np.ndarray, out_counts: np.ndarray, sg: np.ndarray, first: np.ndarray, tensors: View,
              shapes: tuple[np.ndarray, np.ndarray, _Scales], where: Where) -> None:
    """RESHAPE writes its new shape into the output's dims: the new shape must have the output's rank."""
    reshapes = [i for i, name in enumerate(op_name) if name == "RESHAPE"]
    if not reshapes:
        return
    dims, rank, _ = shapes
    in_start = np.cumsum(in_counts) - in_counts
    out_start = np.cumsum(out_counts) - out_counts
    options = ops.child("ReshapeOptions", "builtin_options")
    _new_shape, new_n = options.vectors("new_shape", "<i4")
    by_op = {int(r): k for k, r in enumerate(np.searchsorted(ops.rows, options.parent_rows()).tolist())}
    for i in reshapes:
        if out_counts[i] != 1 or in_counts[i] not in (1, 2):
            raise SemanticError(where(i), f"has {int(in_counts[i])} inputs and {int(out_counts[i])} outputs "
                                "(RESHAPE takes 1 or 2 and gives 1)")
        out = int(first[sg[i]] + outputs[out_start[i]])
        target = None
        if in_counts[i] == 2 and inputs[in_start[i] + 1] >= 0:
            shape_tensor = int(first[sg[i]] + inputs[in_start[i] + 1])
            if int(rank[shape_tensor]) == 1:
                target = int(_shape(dims, rank, shape_tensor)[0])
        elif i in by_op:
            target = int(new_n[by_op[i]])
        if target is not None and target != int(rank[out]):
            raise SemanticError(where(i), f"its new shape has {target} dimensions but its output tensor has "
                                f"{int(rank[out])}")


def _quantized_math(op_name: list[str], code: np.ndarray, inputs: np.ndarray, in_counts: np.ndarray,
                    outputs: np.ndarray, out_counts: np.ndarray, sg: np.ndarray, first: np.ndarray,
                    dtype: np.ndarray, scales: _Scales, where: Where) -> None:
    """What the quantized kernels assume of their tensors, which TFLite and XNNPACK check by aborting the process.

    - an op computing with scales has a scale on each of its 8/16-bit tensors;
    - ops whose output type is their input's (ADD, CONV_2D, pooling, ...) keep it;
    - 8-bit ADD's output multiplier ``2 max(s1, s2) / (2**20 s_out)`` is below 1 (QuantizeMultiplierSmallerThanOneExp);
    - 8-bit convolutions' and fully-connected layers' requantization scales ``s_in s_w[c] / s_out`` are below 256,
      and average pooling's and MEAN's ``s_in / s_out`` within [1/256, 256): XNNPACK refuses others when it builds
      its graph, and its default delegate then frees memory twice (SIGABRT "double free").
    """
    quant = scales
    in_start = (np.cumsum(in_counts) - in_counts).tolist()
    out_start = (np.cumsum(out_counts) - out_counts).tolist()
    base = first[sg].tolist()
    ins, outs = inputs.tolist(), outputs.tolist()
    kinds, scales_ = dtype.tolist(), quant.first.tolist()
    largest = np.zeros(len(quant.first))
    nonempty = quant.count > 0
    if np.count_nonzero(nonempty):
        largest[quant.owner[nonempty]] = np.maximum.reduceat(quant.values, quant.start[nonempty])
    largest_ = largest.tolist()
    for i, name in enumerate(op_name):
        if code[i] == _CUSTOM or (name not in _QUANT_MATH and name not in _SAME_TYPE):
            continue
        op_in = [base[i] + t if t >= 0 else -1 for t in ins[in_start[i]:in_start[i] + int(in_counts[i])]]
        op_out = [base[i] + t for t in outs[out_start[i]:out_start[i] + int(out_counts[i])]]
        if name in _QUANT_MATH:
            for role, keys in (("input", op_in), ("output", op_out)):
                for j, key in enumerate(keys):
                    if key >= 0 and kinds[key] in _EIGHT_SIXTEEN and scales_[key] <= 0:
                        raise SemanticError(where(i), f"{role} {j} (tensor {key - base[i]}) is "
                                            f"{TENSOR_TYPES[kinds[key]]} without quantization, but {name} computes "
                                            "with its scale")
        positions = _SAME_TYPE.get(name, ())
        if positions and op_out and op_in:
            want = kinds[op_out[0]]
            for j in positions:
                if j < len(op_in) and op_in[j] >= 0 and kinds[op_in[j]] != want and not (
                        name == "FULLY_CONNECTED" or (name in ("CONV_2D", "DEPTHWISE_CONV_2D") and j > 0)):
                    raise SemanticError(where(i), f"input {j} is {TENSOR_TYPES[kinds[op_in[j]]]} but its output is "
                                        f"{TENSOR_TYPES[want]}; {name} keeps the type")
        if name == "ADD" and len(op_in) >= 2 and op_out and kinds[op_out[0]] in (3, 9) and min(op_in[:2]) >= 0:
            s1, s2, so = scales_[op_in[0]], scales_[op_in[1]], scales_[op_out[0]]
            if so > 0 and 2 * max(s1, s2) >= (1 << 20) * so:
                raise SemanticError(where(i), f"output scale {so:.3g} is too small for input scales {s1:.3g} and "
                                    f"{s2:.3g} (the requantization multiplier must be below 1)")
        if name in _CONVOLUTIONS and op_out and kinds[op_out[0]] in (3, 9):
            data, weights = _CONVOLUTIONS[name]
            if max(data, weights) < len(op_in) and min(op_in[data], op_in[weights]) >= 0:
                s_in, s_out = scales_[op_in[data]], scales_[op_out[0]]
                if s_out > 0 and largest_[op_in[weights]] * s_in / s_out >= 256:
                    w = quant.of(op_in[weights])
                    c = int(np.argmax(w))
                    raise SemanticError(where(i), f"channel {c}'s requantization scale {s_in * float(w[c]) / s_out:.3g}"
                                        " (input x weight / output scale) is 256 or more")
        if name in ("AVERAGE_POOL_2D", "MEAN") and op_in and op_out and kinds[op_out[0]] in (3, 9) and op_in[0] >= 0:
            s_in, s_out = scales_[op_in[0]], scales_[op_out[0]]
            if s_out > 0 and s_in > 0 and not 1 / 256 <= s_in / s_out < 256:
                raise SemanticError(where(i), f"input/output scale ratio {s_in / s_out:.3g} is outside [1/256, 256)")


def _tiles(layout: Layout, op_name: list[str], inputs: np.ndarray, in_counts: np.ndarray, outputs: np.ndarray,
           out_counts: np.ndarray, sg: np.ndarray, first: np.ndarray, tensors: View, dtype: np.ndarray,
           shapes: tuple[np.ndarray, np.ndarray, _Scales], where: Where) -> None:
    """TILE multiplies its input's dims by constant multipliers in int32 (tensorflow#111637: a product that wraps
    allocates too little and writes gigabytes past it): the products must fit and give the output's shape."""
    dims, rank, _ = shapes
    buffers = layout.root.child("Buffer", "buffers")
    data_start, data_size = buffers.starts("data"), buffers.counts("data")
    buffer = tensors.scalars("buffer", "<u4").astype(np.int64)
    in_start = np.cumsum(in_counts) - in_counts
    out_start = np.cumsum(out_counts) - out_counts
    for i in (i for i, name in enumerate(op_name) if name == "TILE"):
        x, m = (int(first[sg[i]] + inputs[in_start[i] + k]) for k in (0, 1))
        if not data_size[buffer[m]] or dtype[m] not in (2, 4):
            continue  # multipliers computed at run time: the kernel's own checks apply
        item = 4 if dtype[m] == 2 else 8
        start, n = int(data_start[buffer[m]]), int(data_size[buffer[m]]) // item
        multipliers = np.frombuffer(layout.data, "<i4" if item == 4 else "<i8", n, start).astype(np.int64)
        shape = np.asarray(_shape(dims, rank, x), np.int64)
        if len(multipliers) != len(shape) or np.count_nonzero(multipliers < 0):
            raise SemanticError(where(i), f"multipliers {multipliers.tolist()[:8]} do not fit its input's shape "
                                f"{shape.tolist()}")
        product = shape * multipliers
        if np.count_nonzero(product > _INT32_MAX) or float(np.prod(product.astype(np.float64))) > _INT32_MAX:
            raise SemanticError(where(i), f"{shape.tolist()} x {multipliers.tolist()} overflows int32")
        out = int(first[sg[i]] + outputs[out_start[i]])
        declared = _shape(dims, rank, out)
        if declared and declared != product.tolist():
            raise SemanticError(where(i), f"gives shape {product.tolist()} but its output tensor is {declared}")


def _subgraph_io(subgraphs: View, ntensors: np.ndarray) -> None:
    for field in ("inputs", "outputs"):
        values, counts = subgraphs.vectors(field, "<i4")
        lim = np.repeat(ntensors[subgraphs.index()] if len(ntensors) else ntensors, counts)
        bad = (values < 0) | (values >= lim)
        if np.count_nonzero(bad):
            j = int(np.argmax(bad))
            k = int(np.searchsorted(np.cumsum(counts), j, side="right"))
            raise SemanticError(f"subgraph {int(subgraphs.index()[k])}", f"{field[:-1]} is tensor {int(values[j])} "
                                f"but the subgraph has {int(lim[j])} tensors")


def _signatures(model: View, nsub: int, ntensors: np.ndarray) -> None:
    sigs = model.child("SignatureDef", "signature_defs")
    if not len(sigs):
        return
    sub = sigs.scalars("subgraph_index", "<u4").astype(np.int64)
    for k, s in enumerate(sub.tolist()):
        if s >= nsub:
            raise SemanticError(f"signature {k}", f"names subgraph {s} but the model has {nsub}")
    for field in ("inputs", "outputs"):
        maps = sigs.child("TensorMap", field)
        owner = np.searchsorted(sigs.rows, maps.parent_rows())
        values = maps.scalars("tensor_index", "<u4").astype(np.int64)
        lim = ntensors[sub[owner]] if len(owner) else values
        bad = values >= lim
        if np.count_nonzero(bad):
            j = int(np.argmax(bad))
            raise SemanticError(f"signature {int(owner[j])}", f"{field[:-1]} {int(maps.index()[j])} is tensor "
                                f"{int(values[j])} but subgraph {int(sub[owner[j]])} has {int(lim[j])} tensors")
