"""Mutations of a .tflite file, each a pure function of the original bytes and a seeded ``random.Random``.

The kinds follow where real damage and crafted files hit a model:

- ``truncate``: the file cut short (an interrupted copy or download);
- ``flip``: one to four bytes changed inside the flatbuffer's tables (outside the big constant buffers, where a
  flip only changes a weight);
- ``offset``: an aligned uint32 in the tables replaced (a ``uoffset``/``soffset``/index/length pointed elsewhere);
- ``duplicate``: a range of the tables copied over another (a torn write);
- ``zero``: a range of the tables zeroed (a sector lost);
- ``ziptail``: the appended metadata zip damaged (cut, flipped, a member's sizes or flags changed, or a
  decompression bomb member).
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
from dataclasses import dataclass
from functools import cached_property

__all__ = ["KINDS", "Base", "mutate"]

KINDS = ("truncate", "flip", "offset", "duplicate", "zero", "ziptail")
_BIG = 256  # constant buffers at least this long count as data, not tables


@dataclass(frozen=True, eq=False)
class Base:
    """An original model and the byte ranges the mutators aim at.

    Attributes:
        data: The model file.
        flatbuffer_end: Where the flatbuffer ends (an appended zip starts there, if any).
        data_spans: ``(start, end)`` of constant buffers of at least 256 bytes (sorted).
    """

    name: str
    data: bytes

    @cached_property
    def flatbuffer_end(self) -> int:
        from edgeml.model.metadata import strip

        return len(strip(self.data))

    @cached_property
    def data_spans(self) -> tuple[tuple[int, int], ...]:
        from edgeml.model.graph import parse_graph

        graph = parse_graph(self.data[:self.flatbuffer_end])
        return tuple(sorted((s, s + n) for s, n in graph._spans if n >= _BIG))

    @cached_property
    def table_ranges(self) -> tuple[tuple[int, int], ...]:
        """The flatbuffer minus its big constant buffers: where a mutation changes structure, not weights."""
        out, at = [], 0
        for s, e in self.data_spans:
            if s > at:
                out.append((at, s))
            at = max(at, e)
        if at < self.flatbuffer_end:
            out.append((at, self.flatbuffer_end))
        return tuple(out)

    def table_position(self, rng: random.Random, align: int = 1) -> int:
        """A random byte position inside the tables, weighted by range length."""
        total = sum(e - s for s, e in self.table_ranges)
        pick = rng.randrange(total)
        for s, e in self.table_ranges:
            if pick < e - s:
                return (s + pick) // align * align
            pick -= e - s
        raise AssertionError("unreachable")


def mutate(base: Base, kind: str, seed: int) -> bytes:
    """Return the mutant ``(base, kind, seed)``: always the same bytes for the same arguments."""
    rng = random.Random(f"{base.name}:{kind}:{seed}")
    return _MUTATORS[kind](base, rng)


def _truncate(base: Base, rng: random.Random) -> bytes:
    n = len(base.data)
    if rng.random() < 0.7:  # mostly inside the tables, where the reader and the interpreter look first
        return base.data[:base.table_position(rng)]
    return base.data[:rng.randrange(8, n)]


def _flip(base: Base, rng: random.Random) -> bytes:
    out = bytearray(base.data)
    for _ in range(rng.randint(1, 4)):
        at = base.table_position(rng)
        out[at] = out[at] ^ (1 << rng.randrange(8)) if rng.random() < 0.5 else rng.randrange(256)
    return bytes(out)


_SPECIAL = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC)


def _offset(base: Base, rng: random.Random) -> bytes:
    out = bytearray(base.data)
    at = base.table_position(rng, align=4)
    old = struct.unpack_from("<I", out, at)[0]
    roll = rng.random()
    if roll < 0.4:
        new = rng.choice(_SPECIAL)
    elif roll < 0.8:
        new = (old + rng.choice((-1, 1)) * rng.choice((1, 2, 4, 8, 16, 64, 256, 4096))) & 0xFFFFFFFF
    else:
        new = rng.randrange(len(out))  # somewhere else in the file
    struct.pack_into("<I", out, at, new)
    return bytes(out)


def _duplicate(base: Base, rng: random.Random) -> bytes:
    n = rng.choice((4, 8, 16, 32, 64, 128))
    src, dst = base.table_position(rng), base.table_position(rng)
    chunk = base.data[src:src + n]
    if rng.random() < 0.2:  # inserted: everything after moves
        return base.data[:dst] + chunk + base.data[dst:]
    out = bytearray(base.data)
    out[dst:dst + len(chunk)] = chunk
    return bytes(out[:len(base.data)])


def _zero(base: Base, rng: random.Random) -> bytes:
    n = rng.choice((1, 2, 4, 8, 16, 64, 512))
    at = base.table_position(rng)
    out = bytearray(base.data)
    out[at:at + n] = bytes(len(out[at:at + n]))
    return bytes(out)


def _with_zip(base: Base) -> bytes:
    """The base model with a metadata zip (labels and edgeml.json), adding a typical one when it has none."""
    if base.flatbuffer_end < len(base.data):
        return base.data
    from edgeml.model.metadata import embed, write_json

    return embed(base.data, {"labels.txt": b"".join(b"class %d\n" % i for i in range(10)),
                             "edgeml.json": write_json({"output_activation": "softmax"})})


def _ziptail(base: Base, rng: random.Random) -> bytes:
    data = _with_zip(base)
    start = base.flatbuffer_end
    roll = rng.random()
    if roll < 0.2:  # cut inside the zip
        return data[:rng.randrange(start, len(data))]
    if roll < 0.5:  # bytes changed inside the zip
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(start, len(data))
            out[at] = rng.randrange(256)
        return bytes(out)
    if roll < 0.8:  # a header field changed: method, flags (encryption), sizes, name length, offsets
        out = bytearray(data)
        headers = [i for i in range(start, len(data) - 4) if out[i:i + 2] == b"PK" and out[i + 2] in (1, 3, 5)]
        if not headers:
            return data
        at = rng.choice(headers)
        field = rng.choice((6, 8, 10, 18, 20, 22, 24, 26, 28, 30, 42) if out[at + 2] == 1 else (6, 8, 18, 22, 26, 28))
        width = 2 if field in (6, 8, 10, 26, 28) else 4
        if at + field + width > len(out):
            return data[:at]
        value = rng.choice((0, 1, 8, 9, 12, 14, 99, 0xFF, 0xFFFF, 0xFFFFFFFF)) & ((1 << 8 * width) - 1)
        struct.pack_into("<H" if width == 2 else "<I", out, at + field, value)
        return bytes(out)
    return _bomb(data[:start], rng)


def _bomb(model: bytes, rng: random.Random) -> bytes:
    """The model with a small zip whose member inflates far past any label file (deflate, ~1000:1)."""
    return model + _bomb_zip(rng.choice(("labels.txt", "edgeml.json")), rng.choice((8, 64, 300)))


@functools.cache
def _bomb_zip(member: str, megabytes: int) -> bytes:
    buffer = io.BytesIO()
    filler = b"z\n" if member == "labels.txt" else b" "
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive, archive.open(member, "w") as f:
        chunk = filler * ((1 << 20) // len(filler))
        for _ in range(megabytes):
            f.write(chunk)
    return buffer.getvalue()


_MUTATORS = {"truncate": _truncate, "flip": _flip, "offset": _offset, "duplicate": _duplicate, "zero": _zero,
             "ziptail": _ziptail}
