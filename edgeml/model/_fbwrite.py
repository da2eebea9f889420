"""A minimal FlatBuffers writer that extends an existing flatbuffer in place (standard library only).

FlatBuffers point forward: a table's field holds an unsigned offset to an object *after* it. So a model can be
extended without re-serialising it — and without the schema of every table it holds (TensorFlow's generated
classes are not on the device): new objects are laid out in a *prefix*, each after whatever refers to it, and the
old flatbuffer follows, shifted as a whole, so every offset inside it stays valid. New tables refer to old ones
by their position (:class:`Old`). The prefix starts with the new root offset and the file identifier and is padded
to 16 bytes, which keeps the old bytes' alignment. The old root table is left behind, unreferenced.

Nodes: :class:`Table` (fields by vtable slot), :class:`Vector` (of tables or strings), :class:`Scalars` (a vector
of numbers), :class:`String`, :class:`Blob` (a ``[ubyte]`` vector, aligned for tensor data), :class:`Old`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Blob", "Node", "Old", "Scalars", "String", "Table", "Vector", "extend"]


@dataclass(eq=False)
class Old:
    """An object of the old flatbuffer, at byte position ``pos`` (a table's start, or a vector's/string's length)."""

    pos: int


@dataclass(eq=False)
class String:
    text: str


@dataclass(eq=False)
class Blob:
    """A ``[ubyte]`` vector whose first byte is ``align``-aligned (TFLite buffers: 16)."""

    data: bytes
    align: int = 16


@dataclass(eq=False)
class Scalars:
    """A vector of numbers, e.g. ``Scalars("i", (1, 10))`` for ``[int]``."""

    fmt: str
    values: Sequence[float | int]


@dataclass(eq=False)
class Vector:
    """A vector of offsets to tables or strings."""

    items: Sequence[Node]


@dataclass(eq=False)
class Table:
    """A table: ``fields`` maps a vtable slot to ``(struct code, value)`` for a scalar, or to a node."""

    fields: dict[int, tuple[str, float | int | bool] | Node] = field(default_factory=dict)


Node = Old | String | Blob | Scalars | Vector | Table


def _align(pos: int, n: int) -> int:
    return (pos + n - 1) // n * n


class _Layout:
    def __init__(self, base: int) -> None:
        self.base = base  # where the old flatbuffer will start
        self.pos = 8  # after the root offset and the file identifier
        self.at: dict[int, int] = {}  # id(node) -> position of its referable start
        self.vtables: dict[int, int] = {}  # id(table) -> position of its vtable (right before it)
        self.order: list[Node] = []

    def place(self, node: Node) -> None:
        """Give ``node`` and then its children positions, parents first (so every offset points forward)."""
        if isinstance(node, Old) or id(node) in self.at:
            return
        if isinstance(node, Table):
            slots = max(node.fields, default=-1) + 1
            vtable = _align(self.pos, 2)
            start = _align(vtable + 4 + 2 * slots, 8)
            self.at[id(node)], self.vtables[id(node)] = start, vtable
            self.pos = start + _table_size(node)
        elif isinstance(node, String):
            start = _align(self.pos, 4)
            self.at[id(node)] = start
            self.pos = start + 4 + len(node.text.encode("utf-8")) + 1
        elif isinstance(node, Blob):
            start = _align(self.pos + 4, node.align) - 4
            self.at[id(node)] = start
            self.pos = start + 4 + len(node.data)
        elif isinstance(node, Scalars):
            size = struct.calcsize("<" + node.fmt)
            start = _align(self.pos + 4, max(4, size)) - 4
            self.at[id(node)] = start
            self.pos = start + 4 + size * len(node.values)
        else:
            start = _align(self.pos, 4)
            self.at[id(node)] = start
            self.pos = start + 4 + 4 * len(node.items)
        self.order.append(node)
        for child in _children(node):
            self.place(child)

    def address(self, node: Node) -> int:
        return self.base + node.pos if isinstance(node, Old) else self.at[id(node)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, Table):
        return [v for _, v in sorted(node.fields.items()) if not isinstance(v, tuple)]
    if isinstance(node, Vector):
        return list(node.items)
    return []


def _field_layout(node: Table) -> list[tuple[int, int, str]]:
    """Return ``(slot, offset in table, struct code)`` per field; offsets are 4 for a node (a uoffset)."""
    out, pos = [], 4
    for slot, value in sorted(node.fields.items(), key=lambda kv: -_size(kv[1])):
        code = value[0] if isinstance(value, tuple) else "I"
        size = struct.calcsize("<" + code)
        pos = _align(pos, size)
        out.append((slot, pos, code))
        pos += size
    return out


def _size(value: tuple[str, float | int | bool] | Node) -> int:
    return struct.calcsize("<" + value[0]) if isinstance(value, tuple) else 4


def _table_size(node: Table) -> int:
    layout = _field_layout(node)
    return max((off + struct.calcsize("<" + code) for _, off, code in layout), default=4)


def extend(old: bytes, root: Table, identifier: bytes = b"TFL3") -> bytes:
    """Return a flatbuffer whose root is ``root``, followed by ``old`` (a flatbuffer whose objects it may use).

    Args:
        old: The original flatbuffer bytes (nothing appended after it).
        root: The new root table; its nodes may be :class:`Old` positions in ``old``.
        identifier: The 4-byte file identifier written after the root offset.
    """
    probe = _Layout(0)
    probe.place(root)
    base = _align(probe.pos, 16)
    layout = _Layout(base)
    layout.place(root)
    out = bytearray(base)
    struct.pack_into("<I4s", out, 0, layout.address(root), identifier)
    for node in layout.order:
        _write(out, layout, node)
    return bytes(out) + old


def _offset(out: bytearray, at: int, target: int) -> None:
    if target <= at:
        raise ValueError(f"flatbuffer offset must point forward ({at} -> {target})")
    struct.pack_into("<I", out, at, target - at)


def _write(out: bytearray, layout: _Layout, node: Node) -> None:
    at = layout.at[id(node)]
    if isinstance(node, Table):
        fields = _field_layout(node)
        slots = max(node.fields, default=-1) + 1
        vtable = layout.vtables[id(node)]
        struct.pack_into("<HH", out, vtable, 4 + 2 * slots, _table_size(node))
        for slot, off, _ in fields:
            struct.pack_into("<H", out, vtable + 4 + 2 * slot, off)
        struct.pack_into("<i", out, at, at - vtable)
        for slot, off, code in fields:
            value = node.fields[slot]
            if isinstance(value, tuple):
                struct.pack_into("<" + code, out, at + off, value[1])
            else:
                _offset(out, at + off, layout.address(value))
    elif isinstance(node, String):
        data = node.text.encode("utf-8")
        struct.pack_into(f"<I{len(data)}sx", out, at, len(data), data)
    elif isinstance(node, Blob):
        struct.pack_into("<I", out, at, len(node.data))
        out[at + 4:at + 4 + len(node.data)] = node.data
    elif isinstance(node, Scalars):
        struct.pack_into(f"<I{len(node.values)}{node.fmt}", out, at, len(node.values), *node.values)
    elif isinstance(node, Vector):
        struct.pack_into("<I", out, at, len(node.items))
        for i, item in enumerate(node.items):
            _offset(out, at + 4 + 4 * i, layout.address(item))

