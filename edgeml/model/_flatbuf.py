"""A minimal read-only FlatBuffers table reader (standard library only) for the few fields the runtime needs.

The runtime reads model graphs (:mod:`edgeml.model.graph`) and the standard TFLite metadata (``TFLITE_METADATA`` in
the model's ``metadata`` list, :mod:`edgeml.model.metadata`) with it, without TensorFlow and without the ``flatbuffers``
package, which a ``tflite-runtime`` install may lack. Only the wire
format is implemented (little-endian, ``uoffset_t`` = uint32, vtables of uint16): tables, strings, vectors of
scalars and vectors of tables. Field numbers follow the declaration order in the ``.fbs`` schema, a union taking
two (its ``_type`` byte, then the value).
"""

from __future__ import annotations

import struct
from typing import Any, NoReturn

from edgeml.errors import ModelFormatError

__all__ = ["Table", "root"]


class Table:
    """A table at byte position ``pos`` of ``buf``; out-of-range reads raise :class:`ModelFormatError`."""

    __slots__ = ("_vt", "_vt_size", "buf", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self._vt = pos - _unpack("<i", buf, pos)
        self._vt_size = _unpack("<H", buf, self._vt)

    def _field(self, slot: int) -> int:
        """Return the absolute position of field ``slot``, or 0 when it is absent."""
        entry = 4 + 2 * slot
        if entry >= self._vt_size:
            return 0
        off = _unpack("<H", self.buf, self._vt + entry)
        return self.pos + off if off else 0

    def scalar(self, slot: int, fmt: str, default: Any = 0) -> Any:
        """Return a scalar field (``fmt`` is a struct code such as ``"<I"`` or ``"b"``; always little-endian)."""
        at = self._field(slot)
        return _unpack(_le(fmt), self.buf, at) if at else default

    def _target(self, slot: int) -> int:
        at = self._field(slot)
        return at + _unpack("<I", self.buf, at) if at else 0

    def vector(self, slot: int) -> tuple[int, int]:
        """Return ``(start, length)`` of a vector field: its first element's byte position; ``(0, 0)`` when absent."""
        at = self._target(slot)
        return (at + 4, _unpack("<I", self.buf, at)) if at else (0, 0)

    def string(self, slot: int) -> str | None:
        """Return a string field decoded as UTF-8, or None."""
        at = self._target(slot)
        if not at:
            return None
        n = _unpack("<I", self.buf, at)
        return bytes(self.buf[at + 4:at + 4 + n]).decode("utf-8", "replace")

    def table(self, slot: int) -> Table | None:
        """Return a sub-table field, or None."""
        at = self._target(slot)
        return Table(self.buf, at) if at else None

    def tables(self, slot: int) -> list[Table]:
        """Return a vector of tables (empty when absent)."""
        at = self._target(slot)
        if not at:
            return []
        n = _unpack("<I", self.buf, at)
        items = (at + 4 + 4 * i for i in range(n))
        return [Table(self.buf, p + _unpack("<I", self.buf, p)) for p in items]

    def numbers(self, slot: int, fmt: str) -> tuple[Any, ...] | None:
        """Return a vector of scalars, e.g. ``fmt="<f"`` for ``[float]``, or None when absent."""
        start, n = self.vector(slot)
        if not start:
            return None
        code = _le(fmt)[1:]
        if start + n * struct.calcsize("<" + code) > len(self.buf):
            _bad()
        return struct.unpack_from(f"<{n}{code}", self.buf, start)

    def bytes_(self, slot: int) -> bytes | None:
        """Return a ``[ubyte]`` field as bytes, or None."""
        at = self._target(slot)
        if not at:
            return None
        n = _unpack("<I", self.buf, at)
        if at + 4 + n > len(self.buf):
            _bad()
        return bytes(self.buf[at + 4:at + 4 + n])


def root(buf: bytes | memoryview) -> Table:
    """Return the root table of a flatbuffer."""
    return Table(buf, _unpack("<I", buf, 0))


def _le(fmt: str) -> str:
    return fmt if fmt[:1] == "<" else "<" + fmt


def _unpack(fmt: str, buf: bytes | memoryview, pos: int) -> Any:
    try:
        if pos < 0:
            raise struct.error("negative offset")
        value = struct.unpack_from(fmt, buf, pos)[0]
    except struct.error as exc:
        raise ModelFormatError(f"Truncated or corrupt flatbuffer (read at byte {pos}: {exc}).") from exc
    return value


def _bad() -> NoReturn:
    raise ModelFormatError("Truncated or corrupt flatbuffer (a vector runs past the end of the file).")
