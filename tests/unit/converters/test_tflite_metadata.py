"""Standard TFLite metadata (TFLITE_METADATA → ModelMetadata flatbuffer) is written and read back without TF."""

from __future__ import annotations

import pytest

from edgeml.errors import ModelFormatError
from edgeml.model.metadata import embed, read_metadata, read_tflite_metadata

flatbuffers = pytest.importorskip("flatbuffers")


def _model_with_metadata(meta: bytes) -> bytes:
    """A minimal TFLite Model flatbuffer (schema.fbs: buffers = field 4, metadata = field 6) holding ``meta``."""
    b = flatbuffers.Builder(256)
    data = b.CreateByteVector(meta)
    b.StartObject(3)  # Buffer
    b.PrependUOffsetTRelativeSlot(0, data, 0)
    buf = b.EndObject()
    b.StartObject(1)  # empty Buffer 0, as the converter writes
    empty = b.EndObject()
    b.StartVector(4, 2, 4)
    b.PrependUOffsetTRelative(buf)
    b.PrependUOffsetTRelative(empty)
    buffers = b.EndVector()
    name = b.CreateString("TFLITE_METADATA")
    b.StartObject(2)  # Metadata
    b.PrependUOffsetTRelativeSlot(0, name, 0)
    b.PrependUint32Slot(1, 1, 0)
    entry = b.EndObject()
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(entry)
    entries = b.EndVector()
    b.StartObject(8)  # Model
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers, 0)
    b.PrependUOffsetTRelativeSlot(6, entries, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_written_metadata_reads_back_with_the_runtime_reader(tmp_path):
    from edgeml_converters.tflite.metadata import MIN_PARSER_VERSION, ImageClassifierMetadata, build_metadata

    meta = build_metadata(ImageClassifierMetadata(
        name="net", description="d", version="abc", width=224, height=160, channels=3,
        mean=(127.5,), std=(127.5,), labels_file="labels.txt"))
    assert meta[4:8] == b"M001"
    model = _model_with_metadata(meta)
    std = read_tflite_metadata(model)
    assert std is not None
    assert (std.name, std.version, std.min_parser_version) == ("net", "abc", MIN_PARSER_VERSION)
    assert std.mean == (127.5,) and std.std == (127.5,)
    assert std.color_space == "rgb" and std.labels_file == "labels.txt"

    path = tmp_path / "m.tflite"
    path.write_bytes(embed(model, {"labels.txt": b"cat\ndog\n"}))
    read = read_metadata(path)
    assert read.labels == ("cat", "dog")
    # Without edgeml.json the standard NormalizationOptions give the preprocessing (third-party models).
    assert read.preprocessing is not None and read.preprocessing.mean == (127.5,)
    assert read.color_order == "rgb"


def test_labels_follow_the_associated_file_name(tmp_path):
    from edgeml_converters.tflite.metadata import ImageClassifierMetadata, build_metadata

    meta = build_metadata(ImageClassifierMetadata(name="n", description="", version="", width=8, height=8,
                                                  channels=1, mean=(0,), std=(255,), labels_file="classes.txt"))
    path = tmp_path / "m.tflite"
    path.write_bytes(embed(_model_with_metadata(meta), {"classes.txt": b"a\nb\nc\n"}))
    read = read_metadata(path)
    assert read.labels == ("a", "b", "c")
    assert read.tflite is not None and read.tflite.color_space == "grayscale" and read.color_order is None


def test_corrupt_metadata_buffer_is_reported():
    with pytest.raises(ModelFormatError, match="corrupt TFLITE_METADATA"):
        read_tflite_metadata(_model_with_metadata(b"\x08\x00\x00\x00M001\xff\xff\xff\x7f"))


def test_a_model_without_standard_metadata_reads_as_none():
    assert read_tflite_metadata(b"\x18\x00\x00\x00TFL3" + bytes(64)) is None
    assert read_tflite_metadata(b"not a model") is None
