"""The semantic checks of tensors: types, buffers, shapes, constant sizes, quantization, string and sparse data."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgeml.model.schema import TENSOR_TYPES
from edgeml.model.verify.problem import INT32_MAX as _INT32_MAX
from edgeml.model.verify.problem import SemanticError, Where
from edgeml.model.verify.problem import shape_of as _shape
from edgeml.model.verify.structure import Layout, View

_STRING, _RESOURCE, _VARIANT = 5, 13, 14
# Bytes per element by TensorType (0: variable-size); int4/uint4/int2 are packed (fractions).
_ITEMSIZE = np.array([4, 2, 4, 1, 8, 0, 1, 2, 8, 1, 8, 16, 8, 0, 0, 4, 2, 0.5, 2, 0.25, 0.5, 1, 1])
# Zero-point range by TensorType, for the types whose quantization has one.
_ZP_RANGE = {3: (0, 255), 9: (-128, 127), 7: (-32768, 32767), 17: (-8, 7), 20: (0, 15), 19: (-2, 1),
             2: (-(2**31), 2**31 - 1), 16: (0, 65535)}
_ZP_LOW = np.array([_ZP_RANGE.get(t, (-(2**63), 0))[0] for t in range(len(TENSOR_TYPES))], np.int64)
_ZP_HIGH = np.array([_ZP_RANGE.get(t, (0, 2**63 - 1))[1] for t in range(len(TENSOR_TYPES))], np.int64)
_FLOAT32_TINY = np.float32(np.finfo(np.float32).tiny)  # smallest normal float32: XNNPACK refuses subnormal scales
# Kernels that compute with the scales of their 8/16-bit tensors: each such tensor must be quantized, or the
# multiplier they derive is infinite and TFLite aborts (QuantizeMultiplier's TFLITE_CHECK).
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


