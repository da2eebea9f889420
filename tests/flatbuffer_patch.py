"""Change one field of a real .tflite in place: how the verifier tests build a model with exactly one fault.

Positions come from the verifier's own :class:`~edgeml.model.verify.structure.Layout`, so a test says *what* it
breaks ("op 1's input 0", "tensor 6's first scale") instead of a byte offset that changes with the model.
"""

from __future__ import annotations

import struct

from edgeml.model.verify.structure import View, verify_structure


def view(data: bytes, type_: str) -> View:
    """Every table of ``type_`` (the first level holding one)."""
    found = verify_structure(data).view(type_)
    assert len(found), f"no {type_} table in this model"
    return found


def field_position(data: bytes, type_: str, field: str, row: int = 0) -> int:
    """Byte position of scalar ``field`` of the ``row``-th ``type_`` table (the field must be present)."""
    v = view(data, type_)
    lv = v.layout.levels[v.level]
    assert lv.at is not None
    from edgeml.model.verify.structure import _schema

    at = int(lv.at[v.rows[row], _schema().column[type_][field]])
    assert at, f"{type_}[{row}].{field} is absent (default value): pick a table that stores it"
    return at


def element_position(data: bytes, type_: str, field: str, row: int = 0, index: int = 0, size: int = 4) -> int:
    """Byte position of element ``index`` of vector ``field`` of the ``row``-th ``type_`` table."""
    v = view(data, type_)
    count = int(v.counts(field)[row])
    assert index < count, f"{type_}[{row}].{field} has {count} elements"
    return int(v.starts(field)[row]) + index * size


def patch(data: bytes, position: int, fmt: str, value: object) -> bytes:
    """``data`` with ``struct.pack(fmt, value)`` written at ``position``."""
    out = bytearray(data)
    struct.pack_into(fmt, out, position, value)
    return bytes(out)


def set_field(data: bytes, type_: str, field: str, fmt: str, value: object, row: int = 0) -> bytes:
    return patch(data, field_position(data, type_, field, row), fmt, value)


def set_element(data: bytes, type_: str, field: str, fmt: str, value: object, row: int = 0, index: int = 0) -> bytes:
    return patch(data, element_position(data, type_, field, row, index, struct.calcsize(fmt)), fmt, value)
