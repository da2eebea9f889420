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

from dataclasses import dataclass

import numpy as np

from edgeml.model.schema import BUILTIN_OPERATORS
from edgeml.model.verify._op_versions import OP_VERSIONS
from edgeml.model.verify.operators import _operators
from edgeml.model.verify.problem import CUSTOM as _CUSTOM
from edgeml.model.verify.problem import SemanticError
from edgeml.model.verify.problem import shape_of as _shape
from edgeml.model.verify.structure import Layout, View
from edgeml.model.verify.tensors import _tensors

__all__ = ["MAX_TENSOR_BYTES", "SCHEMA_VERSION", "Facts", "SemanticError", "check_meaning"]

SCHEMA_VERSION = 3  # TFLITE_SCHEMA_VERSION
MAX_TENSOR_BYTES = 1 << 30  # activations of one model: 1 GiB (a Raspberry Pi has 1-8 GiB)
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
