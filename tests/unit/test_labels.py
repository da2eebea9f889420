"""Label files in the formats people have: plain lines and pycoral's indexed lines."""

from __future__ import annotations

import pytest

from edgeml.errors import LabelsError
from edgeml.labels import parse_labels, read_labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cat\ndog\n", ("cat", "dog")),
        ("cat\r\ndog\r\n\n", ("cat", "dog")),
        ("0 background\n1 person\n2 bicycle\n", ("background", "person", "bicycle")),
        ("0: tench\n2: goldfish\n", ("tench", "", "goldfish")),
        ("T-shirt/top\nAnkle boot\n", ("T-shirt/top", "Ankle boot")),
    ],
)
def test_parse_labels(text, expected):
    assert parse_labels(text) == expected


def test_empty_file_is_an_error(tmp_path):
    f = tmp_path / "labels.txt"
    f.write_text("\n\n")
    with pytest.raises(LabelsError, match="empty"):
        read_labels(f)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(LabelsError, match="not found.*nope.txt"):
        read_labels(tmp_path / "nope.txt")


def test_duplicate_index_is_an_error():
    with pytest.raises(LabelsError, match="index 1 appears twice"):
        parse_labels("0 a\n1 b\n1 c\n")
