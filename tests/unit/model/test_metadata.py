"""Embedded metadata: labels and preprocessing survive a round trip and are readable with plain zipfile."""

from __future__ import annotations

import zipfile

import pytest

from edgeml.errors import ModelFormatError
from edgeml.model.metadata import ModelMetadata, embed, read_metadata, strip, write_json
from edgeml.preprocess import Preprocessing

FAKE_MODEL = b"\x18\x00\x00\x00TFL3" + bytes(range(256)) * 4


def test_round_trip(tmp_path):
    prep = Preprocessing(resize="center_crop", crop_fraction=0.875, mean=(127,), std=(128,))
    data = embed(FAKE_MODEL, {"labels.txt": b"cat\ndog\n", "edgeml.json": write_json(
        {"preprocessing": prep.to_dict(), "output_activation": "softmax"})})
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    meta = read_metadata(path)
    assert meta.labels == ("cat", "dog")
    assert meta.preprocessing == prep
    assert meta.output_activation == "softmax"
    assert meta.info["edgeml_format"] == 1
    assert sorted(zipfile.ZipFile(path).namelist()) == ["edgeml.json", "labels.txt"]


def test_strip_and_re_embed_replace_the_archive():
    once = embed(FAKE_MODEL, {"labels.txt": b"a\n"})
    assert strip(once) == FAKE_MODEL
    assert strip(FAKE_MODEL) == FAKE_MODEL
    twice = embed(once, {"labels.txt": b"b\n"})
    assert twice == embed(FAKE_MODEL, {"labels.txt": b"b\n"})


def test_model_without_archive_has_empty_metadata(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(FAKE_MODEL)
    assert read_metadata(path) == ModelMetadata()


def test_unreadable_json_is_reported(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(embed(FAKE_MODEL, {"edgeml.json": b"{not json"}))
    with pytest.raises(ModelFormatError, match="edgeml.json that is not JSON"):
        read_metadata(path)
