"""Check a flatbuffer against TFLite's whole schema, as FlatBuffers' ``Verifier`` does, one nesting level at a time.

The rules are FlatBuffers' own (``flatbuffers/verifier.h``): every table's ``soffset`` to its vtable, the vtable's
size and every field inside the buffer and aligned to its size; every ``uoffset`` non-zero, below 2 GiB and
landing inside the buffer; every vector and string length-prefixed, 4-byte aligned and inside the buffer, strings
NUL-terminated (and here also valid UTF-8); at most 64 tables deep and 1,000,000 tables. A union member this
schema does not know is accepted (a newer schema's options), as generated verifiers do.

Why by level: a model has hundreds of tensors and ops, and Python walking them one table at a time costs more
than the interpreter takes to load the model. Here every table at one nesting depth, whatever its type, is
checked by the same few dozen numpy operations over a rows x fields matrix (vtable entries, field positions,
offsets, vector lengths), the per-type facts coming from tables indexed by type id. The cost grows with the
depth of the schema (about 6), not with the size of the model. Constant data is never read, only its bounds.

:func:`verify_structure` returns a :class:`Layout`, from which :mod:`edgeml.model.verify.semantic` reads the
fields it checks (tensor shapes, op inputs, quantization) as numpy arrays without walking the file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeml.model.verify._schema import ROOT, TABLES, UNIONS

__all__ = ["MAX_DEPTH", "MAX_TABLES", "Layout", "StructureError", "View", "ragged", "verify_structure"]

MAX_DEPTH = 64  # FlatBuffers' Verifier defaults (max_depth, max_tables, max_size)
MAX_TABLES = 1_000_000
MAX_SIZE = 2**31 - 1
_I64 = np.int64
_PAD, _SCALAR, _TABLE, _UNION, _STRING, _VSCALAR, _VSTRING, _VTABLE = range(8)
_KIND = {"s": _SCALAR, "t": _TABLE, "u": _UNION, "str": _STRING, "vs": _VSCALAR, "vstr": _VSTRING,
         "vt": _VTABLE}


class StructureError(Exception):
    """A structural fault: ``where`` is a path like ``subgraphs[0].tensors[12].name``, ``at`` a byte position."""

    def __init__(self, where: str, problem: str, at: int) -> None:
        super().__init__(f"{where}: {problem} (byte {at})")
        self.where, self.problem, self.at = where, problem, at


class _Schema:
    """TABLES and UNIONS as numpy lookup tables: row = table type id, column = field (in listed order)."""

    def __init__(self) -> None:
        self.types = sorted(TABLES)
        self.tid = {t: i for i, t in enumerate(self.types)}
        width = max(len(f) for f in TABLES.values())
        rows = len(self.types) + 1  # the last row: no fields (the pad type)
        # Built as Python lists, converted once (element-wise numpy writes cost milliseconds on a cold start).
        entry = [[1 << 20] * width for _ in range(rows)]
        kind = [[0] * width for _ in range(rows)]
        ssize = [[1] * width for _ in range(rows)]  # scalar size (1 elsewhere, a harmless divisor)
        esize = [[0] * width for _ in range(rows)]  # element size of strings (1) and vectors
        child = [[-1] * width for _ in range(rows)]  # child type id (tables, vectors of tables) or union id
        tagcol = [[0] * width for _ in range(rows)]  # a union's type-byte column
        self.names: list[tuple[str, ...]] = []
        self.column: dict[str, dict[str, int]] = {}
        unions = sorted(UNIONS)
        members = [[-1] * 256 for _ in unions]
        for u, name in enumerate(unions):
            for tag, member in enumerate(UNIONS[name]):
                if member is not None:
                    members[u][tag] = self.tid[member]
        for t, type_ in enumerate(self.types):
            fields = TABLES[type_]
            self.names.append(tuple(f[0] for f in fields))
            self.column[type_] = {f[0]: c for c, f in enumerate(fields)}
            for c, (name, slot, kind_name, arg) in enumerate(fields):
                entry[t][c] = 4 + 2 * slot
                kind[t][c] = k = _KIND[kind_name]
                if k == _SCALAR:
                    ssize[t][c] = int(arg)  # type: ignore[call-overload]
                elif k in (_STRING, _VSTRING, _VTABLE):
                    esize[t][c] = 1 if k == _STRING else 4
                elif k == _VSCALAR:
                    esize[t][c] = int(arg)  # type: ignore[call-overload]
                if k in (_TABLE, _VTABLE):
                    child[t][c] = self.tid[str(arg)]
                elif k == _UNION:
                    child[t][c] = unions.index(str(arg))
                    tagcol[t][c] = self.column[type_][name + "_type"]
        self.entry, self.kind, self.ssize = (np.array(a, _I64) for a in (entry, kind, ssize))
        self.esize, self.child, self.tagcol = (np.array(a, _I64) for a in (esize, child, tagcol))
        self.members = np.array(members, _I64)
        self.width = np.array([len(TABLES[t]) for t in self.types] + [0], _I64)
        self.names.append(())


_SCHEMA: _Schema | None = None


def _schema() -> _Schema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = _Schema()
    return _SCHEMA


@dataclass(eq=False)
class _Level:
    """Every table at one nesting depth: positions, types, where each came from, and its fields (rows x columns)."""

    pos: np.ndarray
    tid: np.ndarray
    parent_row: np.ndarray  # row in the level above (-1 for the root)
    via: np.ndarray  # column of the parent's field it was reached through
    index: np.ndarray  # position in the parent's vector, -1 for a table or union field
    at: np.ndarray | None = None  # rows x columns: absolute field position (0 where absent)
    present: np.ndarray | None = None
    target: np.ndarray | None = None  # offset fields: the object's position
    count: np.ndarray | None = None  # strings and vectors: element count


@dataclass(frozen=True, eq=False)
class View:
    """The rows of one table type at one level, with readers for their fields."""

    layout: Layout
    type: str
    level: int
    rows: np.ndarray
    _children: dict[tuple[str, str], View] = field(default_factory=dict, repr=False)
    _present: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def _col(self, name: str) -> int:
        return _schema().column[self.type][name]

    def has(self, name: str) -> np.ndarray:
        """bool ``(n,)``: rows where field ``name`` is present."""
        found = self._present.get(name)
        if found is None:
            lv = self.layout.levels[self.level]
            c = self._col(name)
            if lv.present is None or c >= lv.present.shape[1]:
                found = np.zeros(len(self.rows), bool)
            else:
                found = lv.present[self.rows, c]
            self._present[name] = found
        return found

    def scalars(self, name: str, dtype: str, default: float = 0) -> np.ndarray:
        """Field ``name`` of every row as ``dtype`` (``"<i4"``, ``"u1"``, ...), ``default`` where absent."""
        present = self.has(name)
        dt = np.dtype(dtype)
        if not np.count_nonzero(present):
            return np.full(len(self.rows), default, dt)
        lv = self.layout.levels[self.level]
        assert lv.at is not None
        values = self.layout.gather(lv.at[self.rows, self._col(name)], dt)
        return np.where(present, values, np.array(default, dt))

    def counts(self, name: str) -> np.ndarray:
        """int64 ``(n,)``: element count of vector or string field ``name`` (0 where absent)."""
        present = self.has(name)
        if not np.count_nonzero(present):
            return np.zeros(len(self.rows), _I64)
        lv = self.layout.levels[self.level]
        assert lv.count is not None
        return np.where(present, lv.count[self.rows, self._col(name)], 0)

    def starts(self, name: str) -> np.ndarray:
        """int64 ``(n,)``: byte position of the first element of vector or string field ``name``."""
        lv = self.layout.levels[self.level]
        if lv.target is None or not np.count_nonzero(self.has(name)):
            return np.zeros(len(self.rows), _I64)
        return lv.target[self.rows, self._col(name)] + 4

    def vectors(self, name: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
        """Vector field ``name`` of every row, concatenated: ``(values, counts)``."""
        counts = self.counts(name)
        dt = np.dtype(dtype).newbyteorder("<")
        total = int(counts.sum())
        if not total:
            return np.zeros(0, dt), counts
        starts = self.starts(name)
        if total > 8 * len(counts):  # long vectors (per-channel scales): copying slices beats an index array
            data, size = self.layout.data, dt.itemsize
            ends = (starts + counts * size).tolist()
            joined = b"".join([data[a:b] for a, b in zip(starts.tolist(), ends, strict=True)])
            return np.frombuffer(joined, dt), counts
        return self.layout.gather(ragged(starts, counts, dt.itemsize), dt), counts

    def string(self, name: str, i: int) -> str | None:
        """String field ``name`` of row ``i`` of this view (UTF-8 already checked), or None."""
        if not self.has(name)[i]:
            return None
        start, n = int(self.starts(name)[i]), int(self.counts(name)[i])
        return bytes(self.layout.data[start:start + n]).decode("utf-8", "replace")

    def parent_rows(self) -> np.ndarray:
        """For each row, its parent's row in the level above."""
        return self.layout.levels[self.level].parent_row[self.rows]

    def index(self) -> np.ndarray:
        """For each row, its position in the parent's vector (-1 for a table field)."""
        return self.layout.levels[self.level].index[self.rows]

    def child_types(self, via: str) -> list[str]:
        """The table types reached from these rows through field ``via`` (a union's members present)."""
        if self.level + 1 >= len(self.layout.levels):
            return []
        s, lv = _schema(), self.layout.levels[self.level + 1]
        above = self.layout.levels[self.level]
        mask = (above.tid[lv.parent_row] == s.tid[self.type]) & (lv.via == s.column[self.type][via])
        return [s.types[t] for t in np.flatnonzero(np.bincount(lv.tid[mask])).tolist()]  # np.unique imports numpy.ma

    def child(self, type_: str, via: str) -> View:
        """The ``type_`` tables reached from these rows through field ``via`` (one level down)."""
        key = (type_, via)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = self.layout.view(type_, via=(self.type, via), level=self.level + 1,
                                                           parents=self.rows)
        return found


class Layout:
    """A verified buffer: numpy views of its bytes, its tables by level, where the flatbuffer's objects end."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self.size = n = len(data)
        self.u8 = np.frombuffer(data, np.uint8, n)
        self.u16 = np.frombuffer(data, "<u2", n // 2)
        self.u32 = np.frombuffer(data, "<u4", n // 4)
        self.levels: list[_Level] = []
        self.end = 0  # one past the last byte any object of the flatbuffer uses
        self.tables = 0
        self.strings: list[tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]] = []
        self._root: View | None = None

    @property
    def root(self) -> View:
        """The Model table (its children views are cached, so every check shares them)."""
        if self._root is None:
            self._root = self.view(ROOT, level=0)
        return self._root

    def gather(self, at: np.ndarray, dt: np.dtype[Any]) -> np.ndarray:
        """Little-endian values of ``dt`` at byte positions ``at`` (aligned to min(size, 4))."""
        size = dt.itemsize
        if size == 1:
            return self.u8[at].astype(bool) if dt.kind == "b" else self.u8[at].view(dt)
        if size == 2:
            return self.u16[at >> 1].view(dt.newbyteorder("<"))
        if size == 4:
            return self.u32[at >> 2].view(dt.newbyteorder("<"))
        lo = self.u32[at >> 2].astype(np.uint64)
        hi = self.u32[(at >> 2) + 1].astype(np.uint64)
        return (lo | (hi << np.uint64(32))).view(dt.newbyteorder("<"))

    def view(self, type_: str, via: tuple[str, str] | None = None, level: int | None = None,
             parents: np.ndarray | None = None) -> View:
        """The tables of ``type_`` (reached through ``via = (parent type, field)``, from ``parents`` rows)."""
        s = _schema()
        t = s.tid[type_]
        levels = range(len(self.levels)) if level is None else [level] if level < len(self.levels) else []
        for i in levels:
            lv = self.levels[i]
            mask = lv.tid == t
            if via is not None and i > 0:
                above = self.levels[i - 1]
                mask &= (above.tid[lv.parent_row] == s.tid[via[0]]) & (lv.via == s.column[via[0]][via[1]])
            if parents is not None:
                chosen = np.zeros(len(self.levels[i - 1].pos), bool)
                chosen[parents] = True
                mask &= chosen[lv.parent_row]
            rows = np.flatnonzero(mask)
            if len(rows) or level is not None:
                return View(self, type_, i, rows)
        return View(self, type_, 0, np.zeros(0, _I64))

    def path(self, level: int, row: int) -> str:
        """Where a table is, e.g. ``subgraphs[0].operators[3]``."""
        parts = []
        s = _schema()
        while level > 0:
            lv = self.levels[level]
            parent = int(lv.parent_row[row])
            name = s.names[int(self.levels[level - 1].tid[parent])][int(lv.via[row])]
            parts.append(name + (f"[{int(lv.index[row])}]" if lv.index[row] >= 0 else ""))
            level, row = level - 1, parent
        return ".".join(reversed(parts)) or ROOT


def ragged(starts: np.ndarray, counts: np.ndarray, step: int) -> np.ndarray:
    """Byte positions of ``counts[i]`` elements of ``step`` bytes from each ``starts[i]``, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, _I64)
    first = np.cumsum(counts) - counts
    return np.repeat(starts - first * step, counts) + np.arange(total, dtype=_I64) * step


def _fail(layout: Layout, level: int, bad: np.ndarray, problem: str, at: np.ndarray) -> None:
    """Raise :class:`StructureError` for the first bad row (``bad``: rows, or rows x fields)."""
    if not np.count_nonzero(bad):
        return
    flat = int(np.argmax(bad))
    row, col = divmod(flat, bad.shape[1]) if bad.ndim == 2 else (flat, -1)
    where = layout.path(level, row)
    if col >= 0:
        where += "." + _schema().names[int(layout.levels[level].tid[row])][col]
    raise StructureError(where, problem, int(at.flat[flat]))


def verify_structure(data: bytes | memoryview) -> Layout:
    """Check ``data`` against the TFLite schema; return its :class:`Layout`.

    Raises:
        StructureError: The first fault found, with where it is.
    """
    layout = Layout(data)
    n = layout.size
    if n < 8 or n > MAX_SIZE:
        raise StructureError("file", f"size {n} is outside 8 bytes .. 2 GiB", 0)
    if bytes(data[4:8]) != b"TFL3":
        raise StructureError("file", "no 'TFL3' file identifier at bytes 4..7", 4)
    root = int(layout.u32[0])
    if root == 0 or root >= n:
        raise StructureError("root", f"root table offset {root} is outside the file", 0)
    one = np.zeros(1, _I64)
    level: _Level | None = _Level(np.array([root], _I64), np.array([_schema().tid[ROOT]], _I64), one - 1, one, one - 1)
    while level is not None and len(level.pos):
        if len(layout.levels) >= MAX_DEPTH or layout.tables + len(level.pos) > MAX_TABLES:
            raise StructureError(layout.path(len(layout.levels) - 1, int(level.parent_row[0])),
                                 f"more than {MAX_TABLES:,} tables or {MAX_DEPTH} levels deep", int(level.pos[0]))
        layout.levels.append(level)
        layout.tables += len(level.pos)
        level = _verify_level(layout, len(layout.levels) - 1)
    _check_utf8(layout)
    return layout


def _verify_level(layout: Layout, i: int) -> _Level | None:
    """Check every table of level ``i`` and its fields; return the level below (None when there is none)."""
    s, lv, n = _schema(), layout.levels[i], layout.size
    P, tid = lv.pos, lv.tid
    _fail(layout, i, (P & 3 != 0) | (n < P + 4), "table is misaligned or outside the file", P)
    vt = P - layout.u32[P >> 2].view("<i4")
    _fail(layout, i, (vt < 0) | (vt & 1 != 0) | (vt + 2 > n), "vtable offset points outside the file", P)
    vsize = layout.u16[vt >> 1].astype(_I64)
    _fail(layout, i, (vsize & 1 != 0) | (vt + vsize > n), "vtable size is odd or runs past the end of the file", vt)
    layout.end = max(layout.end, int(P.max()) + 4, int((vt + vsize).max()))
    width = int(s.width[tid].max())
    if width == 0:
        return None
    entry = s.entry[tid, :width]
    has = vsize[:, None] > entry
    fo = np.where(has, layout.u16[np.where(has, (vt[:, None] + entry) >> 1, 0)], 0)
    present = fo != 0
    F = np.where(present, P[:, None] + fo, 0)
    kind = s.kind[tid, :width]
    lv.at, lv.present = F, present
    scalar = present & (kind == _SCALAR)
    size = s.ssize[tid, :width]
    _fail(layout, i, scalar & ((F % size != 0) | (F + size > n)), "field is misaligned or outside the file", F)
    end = int(np.where(scalar, F + size, 0).max())
    off = present & (kind >= _TABLE)
    _fail(layout, i, off & ((F & 3 != 0) | (n < F + 4)), "offset field is misaligned or outside the file", F)
    o = np.where(off, layout.u32[np.where(off, F >> 2, 0)], 0).astype(_I64)
    T = F + o
    _fail(layout, i, off & ((o == 0) | (o > MAX_SIZE) | (n <= T)), "offset points outside the file", F)
    lv.target = T
    vec = off & (kind >= _STRING)
    _fail(layout, i, vec & ((T & 3 != 0) | (n < T + 4)), "vector or string is misaligned or outside the file", T)
    count = np.where(vec, layout.u32[np.where(vec, T >> 2, 0)], 0).astype(_I64)
    esize = s.esize[tid, :width]
    is_str = vec & (kind == _STRING)
    stop = T + 4 + count * esize + is_str
    _fail(layout, i, vec & ((count >= MAX_SIZE // np.maximum(esize, 1)) | (stop > n)),
          "vector or string runs past the end of the file", T)
    lv.count = count
    end = max(end, int(np.where(vec, stop, 0).max()))
    if np.count_nonzero(is_str):
        _fail(layout, i, is_str & (layout.u8[np.where(is_str, stop - 1, 0)] != 0), "string is not NUL-terminated", T)
        r, c = np.nonzero(is_str)
        layout.strings.append((T[r, c] + 4, count[r, c], i, r, c))
    layout.end = max(layout.end, end)
    return _children(layout, i, kind, off, T, count, F, present)


def _children(layout: Layout, i: int, kind: np.ndarray, off: np.ndarray, T: np.ndarray, count: np.ndarray,
              F: np.ndarray, present: np.ndarray) -> _Level | None:
    """The tables the fields of level ``i`` point at: table fields, union values, vector-of-table elements."""
    s, tid = _schema(), layout.levels[i].tid
    parts = []
    r, c = np.nonzero(off & (kind == _TABLE))
    if len(r):
        parts.append((T[r, c], s.child[tid[r], c], r, c, np.full(len(r), -1, _I64)))
    r, c = np.nonzero(off & (kind == _UNION))
    if len(r):
        tagcol = s.tagcol[tid[r], c]
        tag = np.where(present[r, tagcol], layout.u8[F[r, tagcol]], 0)
        member = s.members[s.child[tid[r], c], tag]
        keep = member >= 0
        parts.append((T[r, c][keep], member[keep], r[keep], c[keep], np.full(int(keep.sum()), -1, _I64)))
    for k in (_VTABLE, _VSTRING):
        r, c = np.nonzero(off & (kind == k) & (count > 0))
        if not len(r):
            continue
        n = count[r, c]
        E = ragged(T[r, c] + 4, n, 4)
        rows, cols = np.repeat(r, n), np.repeat(c, n)
        index = np.arange(len(E), dtype=_I64) - np.repeat(np.cumsum(n) - n, n)
        eo = layout.u32[E >> 2].astype(_I64)
        C = E + eo
        bad = (eo == 0) | (eo > MAX_SIZE) | (layout.size <= C)
        if np.count_nonzero(bad):
            j = int(np.argmax(bad))
            where = f"{layout.path(i, int(rows[j]))}.{s.names[int(tid[rows[j]])][int(cols[j])]}[{int(index[j])}]"
            raise StructureError(where, "element offset points outside the file", int(E[j]))
        if k == _VTABLE:
            parts.append((C, s.child[tid[rows], cols], rows, cols, index))
        else:
            _element_strings(layout, i, C, rows, cols, index)
    if not parts:
        return None
    return _Level(*(np.concatenate([p[j] for p in parts]) for j in (0, 1, 2, 3, 4)))


def _element_strings(layout: Layout, i: int, C: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     index: np.ndarray) -> None:
    """Check the strings of ``[string]`` vectors (elements at ``C``)."""
    n = layout.size
    count = np.where((C & 3 == 0) & (n >= C + 4), layout.u32[np.minimum(C, n - 4) >> 2], MAX_SIZE).astype(_I64)
    stop = C + 4 + count + 1
    bad = (C & 3 != 0) | (count >= MAX_SIZE) | (stop > n)
    bad |= ~bad & (layout.u8[np.where(bad, 0, stop - 1)] != 0)
    if np.count_nonzero(bad):
        j = int(np.argmax(bad))
        name = _schema().names[int(layout.levels[i].tid[rows[j]])][int(cols[j])]
        raise StructureError(f"{layout.path(i, int(rows[j]))}.{name}[{int(index[j])}]",
                             "string is misaligned, outside the file or not NUL-terminated", int(C[j]))
    layout.end = max(layout.end, int(stop.max()))
    layout.strings.append((C + 4, count, i, rows, cols))


def _check_utf8(layout: Layout) -> None:
    """Every string is UTF-8: one decode of all of them (NUL-separated); one by one only to say which failed."""
    if not layout.strings:
        return
    starts = np.concatenate([g[0] for g in layout.strings]).tolist()
    lengths = (np.concatenate([g[1] for g in layout.strings]) + 1).tolist()  # with the NUL: none spans two
    data = layout.data
    joined = b"".join([data[a:a + b] for a, b in zip(starts, lengths, strict=True)])
    if joined.isascii():
        return
    try:
        joined.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    for s, c, level, rows, cols in layout.strings:
        for j in range(len(s)):
            try:
                bytes(layout.data[int(s[j]):int(s[j] + c[j])]).decode("utf-8")
            except UnicodeDecodeError as exc:
                name = _schema().names[int(layout.levels[level].tid[rows[j]])][int(cols[j])]
                raise StructureError(f"{layout.path(level, int(rows[j]))}.{name}",
                                     f"string is not UTF-8 ({exc.reason})", int(s[j]) + exc.start) from None
