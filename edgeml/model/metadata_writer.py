"""Write the standard TFLite model metadata (a ``ModelMetadata`` flatbuffer, ``M001``) without tflite-support.

The flatbuffer is built with the ``flatbuffers`` package's ``Builder`` (a dependency of ``ai-edge-litert``),
field by field, per tflite-support's published ``tensorflow_lite_support/metadata/metadata_schema.fbs``. Field
slots are the schema's declaration order; a union takes two slots (type byte, then value). Only what an image
model needs is written: model name/description/version, the input's ImageProperties and NormalizationOptions, the
output's name and its labels as a ``TENSOR_AXIS_LABELS`` associated file, and ``min_parser_version``.

Both the host converter (:mod:`edgeml_converters.tflite.metadata`) and the device's ``edgeml learn export``
(:mod:`edgeml.learn.export`) write it; :func:`edgeml.model.metadata.read_tflite_metadata` reads it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml._optional import require

__all__ = ["MIN_PARSER_VERSION", "ImageClassifierMetadata", "build_metadata"]

# The fields written here all exist since metadata schema 1.0.0 (tflite-support's metadata_version.cc).
MIN_PARSER_VERSION = "1.0.0"
_FILE_IDENTIFIER = b"M001"
_RGB, _GRAYSCALE = 1, 2  # ColorSpaceType
_IMAGE_PROPERTIES, _FEATURE_PROPERTIES = 2, 1  # ContentProperties union tags
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union tag
_TENSOR_AXIS_LABELS = 2  # AssociatedFileType


@dataclass(frozen=True)
class ImageClassifierMetadata:
    """What goes into the standard metadata of an image classifier.

    Attributes:
        name, description, version: Free text (``version`` is the model's, e.g. a content hash).
        width, height, channels: Input image size; channels 1 → GRAYSCALE, 3 → RGB.
        mean, std: Normalization of the model's float input: ``(pixel - mean) / std`` (per channel or one value).
        labels_file: Name of the labels member in the appended zip (None: no labels).
        author, license: Optional free text.
        output_name, output_description: The output tensor's name and description (``"embedding"`` for an
            embedding model).
    """

    name: str
    description: str
    version: str
    width: int
    height: int
    channels: int
    mean: Sequence[float]
    std: Sequence[float]
    labels_file: str | None = None
    author: str | None = None
    license: str | None = None
    output_name: str = "probability"
    output_description: str = "Probabilities of the labels respectively."


def build_metadata(meta: ImageClassifierMetadata) -> bytes:
    """Return the ``ModelMetadata`` flatbuffer bytes (file identifier ``M001``) for ``meta``."""
    flatbuffers = require("flatbuffers", "writing standard TFLite metadata")

    b = flatbuffers.Builder(1024)
    strings = {k: b.CreateString(v) for k, v in (
        ("name", meta.name), ("description", meta.description), ("version", meta.version),
        ("min", MIN_PARSER_VERSION), ("in", "image"), ("out", meta.output_name),
        ("in_desc", "Input image to be classified."), ("out_desc", meta.output_description),
        ("author", meta.author or ""), ("license", meta.license or ""),
    )}

    # Input: ImageProperties(color_space, default_size) in Content, NormalizationOptions in process_units.
    b.StartObject(2)  # ImageSize
    b.PrependUint32Slot(0, meta.width, 0)
    b.PrependUint32Slot(1, meta.height, 0)
    size = b.EndObject()
    b.StartObject(2)  # ImageProperties
    b.PrependInt8Slot(0, _GRAYSCALE if meta.channels == 1 else _RGB, 0)
    b.PrependUOffsetTRelativeSlot(1, size, 0)
    image_props = b.EndObject()
    in_content = _content(b, _IMAGE_PROPERTIES, image_props)
    mean = b.CreateNumpyVector(np.asarray(meta.mean, dtype="<f4"))
    std = b.CreateNumpyVector(np.asarray(meta.std, dtype="<f4"))
    b.StartObject(2)  # NormalizationOptions
    b.PrependUOffsetTRelativeSlot(0, mean, 0)
    b.PrependUOffsetTRelativeSlot(1, std, 0)
    norm = b.EndObject()
    b.StartObject(2)  # ProcessUnit
    b.PrependUint8Slot(0, _NORMALIZATION_OPTIONS, 0)
    b.PrependUOffsetTRelativeSlot(1, norm, 0)
    units = _vector(b, [b.EndObject()])
    input_tensor = _tensor(b, strings["in"], strings["in_desc"], in_content, process_units=units)

    # Output: FeatureProperties content, labels as a TENSOR_AXIS_LABELS associated file.
    b.StartObject(0)  # FeatureProperties (empty table)
    out_content = _content(b, _FEATURE_PROPERTIES, b.EndObject())
    files = None
    if meta.labels_file:
        file_name = b.CreateString(meta.labels_file)
        file_desc = b.CreateString("Labels for categories that the model can recognize.")
        b.StartObject(4)  # AssociatedFile
        b.PrependUOffsetTRelativeSlot(0, file_name, 0)
        b.PrependUOffsetTRelativeSlot(1, file_desc, 0)
        b.PrependInt8Slot(2, _TENSOR_AXIS_LABELS, 0)
        files = _vector(b, [b.EndObject()])
    output_tensor = _tensor(b, strings["out"], strings["out_desc"], out_content, associated_files=files)

    inputs, outputs = _vector(b, [input_tensor]), _vector(b, [output_tensor])
    b.StartObject(7)  # SubGraphMetadata
    b.PrependUOffsetTRelativeSlot(2, inputs, 0)
    b.PrependUOffsetTRelativeSlot(3, outputs, 0)
    subgraphs = _vector(b, [b.EndObject()])
    b.StartObject(8)  # ModelMetadata
    b.PrependUOffsetTRelativeSlot(0, strings["name"], 0)
    b.PrependUOffsetTRelativeSlot(1, strings["description"], 0)
    b.PrependUOffsetTRelativeSlot(2, strings["version"], 0)
    b.PrependUOffsetTRelativeSlot(3, subgraphs, 0)
    if meta.author:
        b.PrependUOffsetTRelativeSlot(4, strings["author"], 0)
    if meta.license:
        b.PrependUOffsetTRelativeSlot(5, strings["license"], 0)
    b.PrependUOffsetTRelativeSlot(7, strings["min"], 0)
    b.Finish(b.EndObject(), file_identifier=_FILE_IDENTIFIER)
    return bytes(b.Output())


def _content(b: Any, tag: int, props: int) -> int:
    b.StartObject(3)  # Content
    b.PrependUint8Slot(0, tag, 0)
    b.PrependUOffsetTRelativeSlot(1, props, 0)
    return int(b.EndObject())


def _tensor(b: Any, name: int, desc: int, content: int, process_units: int | None = None,
            associated_files: int | None = None) -> int:
    b.StartObject(7)  # TensorMetadata
    b.PrependUOffsetTRelativeSlot(0, name, 0)
    b.PrependUOffsetTRelativeSlot(1, desc, 0)
    b.PrependUOffsetTRelativeSlot(3, content, 0)
    if process_units is not None:
        b.PrependUOffsetTRelativeSlot(4, process_units, 0)
    if associated_files is not None:
        b.PrependUOffsetTRelativeSlot(6, associated_files, 0)
    return int(b.EndObject())


def _vector(b: Any, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return int(b.EndVector())
