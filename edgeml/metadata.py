"""What a model carries besides its weights: labels and preprocessing, in a zip appended to the .tflite.

This is the layout of standard TFLite metadata's associated files (a zip archive after the flatbuffer, which the
interpreter ignores), so ``zipfile.ZipFile("model.tflite")`` lists them. edgeml stores:

- ``labels.txt``: one class name per line, in output-index order;
- ``edgeml.json``: the resolved preprocessing, output activation and how the model was made.

Reading never fails a model that has no archive: it just has no embedded metadata.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Any

from edgeml.errors import ModelFormatError
from edgeml.labels import parse_labels
from edgeml.preprocess import Preprocessing

__all__ = ["LABELS_FILE", "METADATA_FILE", "ModelMetadata", "embed", "read_metadata", "strip", "write_json"]

LABELS_FILE = "labels.txt"
METADATA_FILE = "edgeml.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelMetadata:
    """Metadata found in a model file. Every field is None when the model carries none."""

    labels: tuple[str, ...] | None = None
    preprocessing: Preprocessing | None = None
    output_activation: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Read the labels and settings embedded in ``path`` (an empty :class:`ModelMetadata` when there are none).

    Raises:
        ModelFormatError: An archive is present but its ``edgeml.json`` or ``labels.txt`` is unreadable.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return ModelMetadata()
    with archive:
        names = set(archive.namelist())
        try:
            info = json.loads(archive.read(METADATA_FILE)) if METADATA_FILE in names else {}
            labels = parse_labels(archive.read(LABELS_FILE).decode("utf-8")) if LABELS_FILE in names else None
        except (ValueError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise ModelFormatError(
                f"{str(path)!r} carries unreadable metadata ({exc}). Re-run `edgeml convert` to rewrite it."
            ) from exc
    prep = info.get("preprocessing")
    return ModelMetadata(
        labels=labels,
        preprocessing=Preprocessing.from_dict(prep) if prep else None,
        output_activation=info.get("output_activation"),
        info=info,
    )


def embed(model: bytes, files: dict[str, bytes]) -> bytes:
    """Return ``model`` with ``files`` appended as a zip archive (replacing any archive already appended).

    Args:
        model: The .tflite flatbuffer bytes.
        files: Archive member name → contents, e.g. ``{"labels.txt": b"cat\\ndog\\n"}``.
    """
    model = strip(model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return model + buffer.getvalue()


def strip(model: bytes) -> bytes:
    """Return ``model`` without an appended zip archive (unchanged when it has none).

    The archive starts where its central directory says: the end-of-central-directory record gives the
    directory's size and its offset from the archive start (zip format, APPNOTE 4.3.16).
    """
    eocd = model.rfind(b"PK\x05\x06", max(0, len(model) - 65557))
    if eocd < 0 or len(model) < eocd + 22:
        return model
    cd_size, cd_offset = struct.unpack_from("<II", model, eocd + 12)
    start = eocd - cd_size - cd_offset
    if start <= 0 or model[start:start + 4] != b"PK\x03\x04":
        return model
    return model[:start]


def write_json(info: dict[str, Any]) -> bytes:
    """Serialise ``info`` as the ``edgeml.json`` member, stamped with the format version."""
    return json.dumps({"edgeml_format": FORMAT_VERSION, **info}, indent=2, sort_keys=True).encode("utf-8")
