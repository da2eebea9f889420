"""Damaged, invalid or oversized metadata and labels: a warning that says what was lost, or our one-line error.

Every case is made from a real model (tests/data/tiny_int8.tflite, 4 classes) with a real zip appended.
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeml.errors import LabelsError, ModelFormatError
from edgeml.labels import parse_labels, read_labels
from edgeml.model import ModelFile
from edgeml.model.metadata import embed, write_json

TINY = (Path(__file__).resolve().parents[2] / "data" / "tiny_int8.tflite").read_bytes()
LABELS = b"cat\ndog\nbird\nfish\n"
GOOD = embed(TINY, {"labels.txt": LABELS, "edgeml.json": write_json(
    {"output_activation": "softmax", "preprocessing": {"resize": "center_crop", "crop_fraction": 0.875}})})


def metadata(data: bytes):
    model = ModelFile.from_bytes(data, "m.tflite")
    model.verify()
    return model.metadata


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) <= 400, text
    return text


def test_intact_metadata_is_read():
    meta = metadata(GOOD)
    assert meta.labels == ("cat", "dog", "bird", "fish") and meta.preprocessing.resize == "center_crop"
    assert meta.problems == ()


def test_truncated_zip_warns_what_was_lost(caplog):
    """The issue's silent damage: a cut metadata zip loaded with no labels and the default resize, no word said."""
    with caplog.at_level(logging.WARNING):
        meta = metadata(GOOD[:len(TINY) + 60])
    assert meta.labels is None and meta.preprocessing is None
    assert "labels" in meta.problems[0] and "preprocessing" in meta.problems[0]
    assert "labels.txt" in meta.problems[0]  # the member names seen in the damaged zip
    assert "damaged metadata" in caplog.text


def _member(data: bytes, name: bytes) -> int:
    """Position of the local file header of member ``name`` (its name follows the 30-byte header)."""
    return data.index(name, len(TINY)) - 30


def test_member_failing_its_crc_loses_only_that_member():
    at = GOOD.index(b"cat\ndog", len(TINY))
    meta = metadata(GOOD[:at] + b"CAT" + GOOD[at + 3:])
    assert meta.labels is None and meta.preprocessing is not None  # edgeml.json was intact
    assert "labels.txt" in meta.problems[0] and "BadZipFile" in meta.problems[0]


@pytest.mark.parametrize(("field", "value", "error"), [
    (8, 99, "NotImplementedError"),  # compression method 99
    (6, 1, "RuntimeError"),  # general-purpose flag bit 0: encrypted
])
def test_unreadable_member_is_a_problem_not_a_traceback(field, value, error):
    header = _member(GOOD, b"labels.txt")
    central = GOOD.index(b"PK\x01\x02", len(TINY))
    data = bytearray(GOOD)
    struct.pack_into("<H", data, header + field, value)
    for c in range(central, len(data) - 46):  # the central directory entry says the same
        if data[c:c + 4] == b"PK\x01\x02" and data[c + 46:c + 56] == b"labels.txt":
            struct.pack_into("<H", data, c + field + 2, value)
    meta = metadata(bytes(data))
    assert meta.labels is None and error in meta.problems[0]


def test_strict_classifier_refuses_damaged_metadata(tmp_path):
    pytest.importorskip("ai_edge_litert")
    import edgeml

    path = tmp_path / "m.tflite"
    path.write_bytes(GOOD[:len(TINY) + 60])
    assert edgeml.Classifier(path).labels is None  # loads, warning logged
    with pytest.raises(ModelFormatError, match=r"damaged metadata \(strict=True\)"):
        edgeml.Classifier(path, strict=True)


@contextlib.contextmanager
def most_memory() -> Iterator[list[int]]:
    """Measure the most memory Python allocated inside the block (tracemalloc's peak), in bytes: ``peak[0]``.

    What "never inflated" and "refused after reading at most the cap" mean, without a clock: reading the 300 MB
    member or the 10 MB file whole would allocate all of it. (How long a refusal takes: make bench-budgets.)
    """
    peak = [0]
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def _deflated(name: str, megabytes: int, filler: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, z.open(name, "w") as f:
        for _ in range(megabytes):
            f.write(filler * ((1 << 20) // len(filler)))
    return buffer.getvalue()


@pytest.mark.parametrize("member", ["labels.txt", "edgeml.json"])
def test_decompression_bomb_is_never_inflated(member):
    """The issue's 300 MB labels.txt in a 300 KB model: refused after reading at most the cap."""
    data = TINY + _deflated(member, 300, b"z\n" if member == "labels.txt" else b" ")
    assert len(data) < 400_000
    with most_memory() as peak, pytest.raises(ModelFormatError, match=f"{member} in its metadata zip inflates "
                                                                       "past") as info:
        metadata(data)
    assert peak[0] < 16 << 20, f"{peak[0]:,} bytes allocated: the member was inflated far past its cap"
    one_line(info.value)


def test_embedded_label_index_beyond_the_classes():
    with pytest.raises(LabelsError, match=r"Label index 999999999999 is beyond the model's 4 classes") as info:
        metadata(embed(TINY, {"labels.txt": b"0 cat\n999999999999 z\n"}))
    one_line(info.value)


def test_sidecar_label_index_and_size_are_bounded(tmp_path):
    big = tmp_path / "labels.txt"
    big.write_bytes(b"0 a\n999999999999 z\n")
    with pytest.raises(LabelsError, match="beyond the model's 4 classes"):
        read_labels(big, max_classes=4)
    big.write_bytes(b"x\n" * 5_000_000)  # 10 MB
    with most_memory() as peak, pytest.raises(LabelsError, match="larger than 69,632 bytes"):
        read_labels(big, max_classes=4)
    assert peak[0] < 1 << 20, f"{peak[0]:,} bytes allocated: the file was read past the limit"
    with pytest.raises(LabelsError, match="beyond the model's 100,000 classes"):
        parse_labels("0 a\n999999999999 z\n")  # no class count: still bounded


def test_sidecar_labels_bound_by_the_classifier(tmp_path):
    pytest.importorskip("ai_edge_litert")
    import edgeml

    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"0 cat\n999999999999 z\n")
    with pytest.raises(LabelsError, match="beyond the model's 4 classes"):
        edgeml.Classifier(Path(__file__).resolve().parents[2] / "data" / "tiny_int8.tflite", labels=labels)


def test_edgeml_json_must_be_an_object():
    with pytest.raises(ModelFormatError, match="edgeml.json holding a JSON list, not an object") as info:
        metadata(embed(TINY, {"edgeml.json": b"[1, 2]"}))
    one_line(info.value)


@pytest.mark.parametrize(("info", "field"), [
    ({"preprocessing": {"resize": "crop"}}, "preprocessing.resize"),
    ({"preprocessing": {"crop_fraction": 2}}, "preprocessing.crop_fraction"),
    ({"preprocessing": {"mean": "x"}}, "preprocessing.mean"),
    ({"preprocessing": {"std": [0]}}, "preprocessing.std"),
    ({"preprocessing": {"mean": 5}}, "preprocessing.mean"),
    ({"preprocessing": [1]}, "preprocessing"),
    ({"output_activation": "relu"}, "output_activation"),
    ({"color_order": "cmyk"}, "color_order"),
])
def test_bad_edgeml_json_values_name_the_field(info, field):
    with pytest.raises(ModelFormatError, match=f"edgeml.json {field}") as exc:
        metadata(embed(TINY, {"edgeml.json": write_json(info)}))
    one_line(exc.value)


def test_labels_not_utf8_are_lost_with_a_warning():
    meta = metadata(embed(TINY, {"labels.txt": b"\xff\xfe\n"}))
    assert meta.labels is None and "not UTF-8" in meta.problems[0]
