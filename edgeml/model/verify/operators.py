"""The semantic checks of ops: indices, arities, dataflow, options, control-flow calls and what kernels assume."""

from __future__ import annotations

import numpy as np

from edgeml.model.schema import TENSOR_TYPES
from edgeml.model.verify._schema import TABLES, UNIONS
from edgeml.model.verify.problem import CUSTOM as _CUSTOM
from edgeml.model.verify.problem import INT32_MAX as _INT32_MAX
from edgeml.model.verify.problem import SemanticError, Where
from edgeml.model.verify.problem import shape_of as _shape
from edgeml.model.verify.structure import Layout, View
from edgeml.model.verify.tensors import _Scales, _subgraph_of

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


