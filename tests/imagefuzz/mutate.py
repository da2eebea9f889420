"""Deterministic mutations of image files: the same seed bytes, kind and index give the same mutant on every run.

Kinds:

- ``truncate``: cut the file, half the time inside its first tenth (where the headers are);
- ``flip``: flip 1-8 bits, half of them in the first 256 bytes;
- ``header``: set one structural field (a size, count, offset, dimension or code) found by walking the format's
  own layout (:func:`fields`) to a boundary value (0, 1, all ones, sign bit, ±1, ×2, ...);
- ``duplicate``: copy a range of bytes and insert it elsewhere;
- ``zero``: zero a range.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

__all__ = ["KINDS", "fields", "mutate"]

KINDS = ("truncate", "flip", "header", "duplicate", "zero")
Field = tuple[int, int, str]  # offset, size in bytes, byte order ("big" or "little")


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """Return a mutant of ``data`` (never empty, never ``data`` itself unless the file is one byte)."""
    n = len(data)
    if kind == "truncate":
        cut = rng.randrange(1, max(2, n // 10)) if rng.random() < 0.5 else rng.randrange(1, n)
        return data[:cut]
    out = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(min(n, 256)) if rng.random() < 0.5 else rng.randrange(n)
            out[pos] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == "header":
        found = [f for f in fields(data) if f[0] + f[1] <= n]
        if not found:
            return mutate(data, "flip", rng)
        offset, size, order = rng.choice(found)
        current = int.from_bytes(data[offset:offset + size], order)
        top = (1 << (8 * size)) - 1
        value = rng.choice([0, 1, top, top >> 1, (top >> 1) + 1, current + 1, current - 1, current * 2,
                            current >> 1, rng.randrange(top + 1), min(top, 65535), min(top, 100_000)]) & top
        out[offset:offset + size] = value.to_bytes(size, order)
        return bytes(out)
    start = rng.randrange(n)
    length = rng.randint(1, max(1, n // 4))
    if kind == "duplicate":
        at = rng.randrange(n + 1)
        return bytes(out[:at] + out[start:start + length] + out[at:])
    if kind == "zero":
        out[start:start + length] = bytes(len(out[start:start + length]))
        return bytes(out)
    raise ValueError(f"unknown mutation kind {kind!r}; valid: {', '.join(KINDS)}")


def fields(data: bytes) -> Iterator[Field]:
    """Yield the structural fields of a JPEG, PNG, GIF, BMP, TIFF or WebP file (bounds-checked walk)."""
    walkers = ((b"\xff\xd8", _jpeg), (b"\x89PNG", _png), (b"GIF8", _gif), (b"BM", _bmp), (b"II*\0", _tiff),
               (b"MM\0*", _tiff), (b"RIFF", _webp))
    for magic, walk in walkers:
        if data.startswith(magic):
            try:
                yield from walk(data)
            except (IndexError, struct.error):  # a layout cut short: the fields found so far
                return
            return


def _jpeg(data: bytes) -> Iterator[Field]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        yield pos + 2, 2, "big"
        body = pos + 4
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):  # SOFn
            yield body, 1, "big"  # precision
            yield body + 1, 2, "big"  # height
            yield body + 3, 2, "big"  # width
            yield body + 5, 1, "big"  # components
            for c in range(data[body + 5]):
                yield body + 6 + 3 * c + 1, 1, "big"  # sampling factors
                yield body + 6 + 3 * c + 2, 1, "big"  # quantization table
        elif marker in (0xC4, 0xDB):  # DHT, DQT: class/id byte, then the first counts
            yield from ((body + i, 1, "big") for i in range(min(17, length - 2)))
        elif marker == 0xDD:  # DRI
            yield body, 2, "big"
        elif marker == 0xDA:  # SOS: components, their tables, spectral selection
            yield body, 1, "big"
            yield from ((body + i, 1, "big") for i in range(1, min(length - 2, 10)))
            return
        pos += 2 + length


def _png(data: bytes) -> Iterator[Field]:
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        yield pos, 4, "big"
        body = pos + 8
        if kind == b"IHDR":
            yield body, 4, "big"
            yield body + 4, 4, "big"
            yield from ((body + 8 + i, 1, "big") for i in range(5))  # depth, colour type, compression, filter, lace
        elif kind == b"acTL":
            yield body, 4, "big"
            yield body + 4, 4, "big"
        elif kind == b"fcTL":
            yield from ((body + 4 * i, 4, "big") for i in range(5))  # sequence, width, height, x, y
            yield body + 24, 1, "big"
            yield body + 25, 1, "big"
        elif kind in (b"PLTE", b"tRNS", b"IDAT", b"fdAT"):
            yield pos + 8 + length, 4, "big"  # its CRC
        if kind == b"IEND":
            return
        pos = body + length + 4


def _gif(data: bytes) -> Iterator[Field]:
    yield from ((6, 2, "little"), (8, 2, "little"), (10, 1, "little"))  # screen width, height, packed
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:
            return
        if block == 0x21:  # extension: label, then sub-blocks
            if data[pos + 1] == 0xF9:
                yield pos + 3, 1, "little"  # disposal / transparency flags
                yield pos + 6, 1, "little"  # transparent index
            pos += 2
        elif block == 0x2C:  # image descriptor
            yield from ((pos + 1 + 2 * i, 2, "little") for i in range(4))  # left, top, width, height
            yield pos + 9, 1, "little"
            packed = data[pos + 9]
            pos += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
            yield pos, 1, "little"  # LZW minimum code size
            pos += 1
        else:
            return
        while pos < len(data) and data[pos]:  # sub-blocks: size byte, then data
            yield pos, 1, "little"
            pos += 1 + data[pos]
        pos += 1


def _bmp(data: bytes) -> Iterator[Field]:
    for offset, size in ((2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4), (34, 4), (46, 4)):
        if offset + size <= len(data):
            yield offset, size, "little"


def _tiff(data: bytes) -> Iterator[Field]:
    order = "little" if data[:2] == b"II" else "big"
    fmt = "<" if order == "little" else ">"
    ifd, seen = struct.unpack(fmt + "I", data[4:8])[0], set()
    yield 4, 4, order
    while ifd and ifd not in seen and ifd + 2 <= len(data) and len(seen) < 8:
        seen.add(ifd)
        count = struct.unpack(fmt + "H", data[ifd:ifd + 2])[0]
        yield ifd, 2, order
        for i in range(min(count, 64)):
            entry = ifd + 2 + 12 * i
            if entry + 12 > len(data):
                return
            yield entry + 2, 2, order  # type
            yield entry + 4, 4, order  # count
            yield entry + 8, 4, order  # value or offset
        nxt = ifd + 2 + 12 * count
        yield nxt, 4, order
        ifd = struct.unpack(fmt + "I", data[nxt:nxt + 4])[0]


def _webp(data: bytes) -> Iterator[Field]:
    yield 4, 4, "little"  # RIFF size
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        yield pos + 4, 4, "little"
        body = pos + 8
        if kind == b"VP8 ":
            yield body, 3, "little"  # frame tag (key frame, size of the first partition)
            yield body + 6, 2, "little"  # width (14 bits) and scale
            yield body + 8, 2, "little"  # height
        elif kind == b"VP8L":
            yield body + 1, 4, "little"  # width-1, height-1 (14 bits each), alpha, version
        elif kind == b"VP8X":
            yield body, 1, "little"  # feature flags
            yield body + 4, 3, "little"  # canvas width-1
            yield body + 7, 3, "little"  # canvas height-1
        elif kind == b"ANMF":
            yield from ((body + 3 * i, 3, "little") for i in range(5))  # x, y, width-1, height-1, duration
            pos = body + 16  # its frame's chunks follow inside
            continue
        pos = body + size + (size & 1)
