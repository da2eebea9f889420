"""What a model carries besides its weights: labels and preprocessing, readable without TensorFlow.

Two standard places, both written by ``edgeml convert`` and read here:

- **TFLite model metadata**: a ``TFLITE_METADATA`` entry in the model flatbuffer's ``metadata`` list whose buffer
  is a ``ModelMetadata`` flatbuffer (tflite-support's ``metadata_schema.fbs``): normalization mean/std in the
  input's process units and the labels file named as the output's ``TENSOR_AXIS_LABELS`` associated file. This is
  what MediaPipe Tasks and other TFLite tools read, so models from those tools work here too.
- **Associated files**: a zip archive appended after the flatbuffer (the interpreter ignores it), so
  ``zipfile.ZipFile("model.tflite")`` lists ``labels.txt`` and ``edgeml.json`` (resolved preprocessing, resize
  mode, colour order, output activation, versions, content hash).

``edgeml.json`` wins where both say something; a model with neither simply has no embedded metadata.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeml.errors import InvalidArgumentError, ModelFormatError, one_line
from edgeml.labels import label_bytes_limit, parse_labels
from edgeml.model._flatbuf import Table, root
from edgeml.preprocess.settings import Preprocessing

__all__ = [
    "LABELS_FILE", "METADATA_FILE", "TFLITE_METADATA", "ModelMetadata", "TfliteMetadata", "embed",
    "parse_metadata", "read_metadata", "read_tflite_metadata", "strip", "write_json",
]

LABELS_FILE = "labels.txt"
METADATA_FILE = "edgeml.json"
TFLITE_METADATA = "TFLITE_METADATA"  # the metadata-list name standard TFLite tools look for
FORMAT_VERSION = 1
_TENSOR_AXIS_LABELS = 2  # AssociatedFileType
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union tag
_COLOR_SPACES = {1: "rgb", 2: "grayscale"}
_ACTIVATIONS = ("softmax", "logits", "auto")
_JSON_CAP = 1 << 20  # inflated bytes read at most from edgeml.json (a few KB in practice); labels: label_bytes_limit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TfliteMetadata:
    """The fields edgeml uses from a standard ``TFLITE_METADATA`` flatbuffer.

    Attributes:
        name, description, version, min_parser_version: ``ModelMetadata`` strings (None when absent).
        mean, std: The input's ``NormalizationOptions`` (float input = ``(pixel - mean) / std``), or None.
        color_space: ``"rgb"``, ``"grayscale"`` or None, from the input's ``ImageProperties``.
        labels_file: Name of the output's ``TENSOR_AXIS_LABELS`` associated file in the appended zip, or None.
    """

    name: str | None = None
    description: str | None = None
    version: str | None = None
    min_parser_version: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    color_space: str | None = None
    labels_file: str | None = None


@dataclass(frozen=True)
class ModelMetadata:
    """Metadata found in a model file. Every field is None when the model carries none.

    Attributes:
        labels: Class names in output order.
        preprocessing: How pixels become the model input (from ``edgeml.json``, else the standard
            NormalizationOptions).
        output_activation: ``"softmax"``, ``"logits"`` or ``"auto"``.
        color_order: Channel order the model input expects, ``"rgb"`` or ``"bgr"`` (grayscale models: None).
        tflite: The standard TFLite metadata, when present.
        info: Everything in ``edgeml.json``.
        problems: What damaged metadata lost, one sentence each (empty when the metadata was read whole).
    """

    labels: tuple[str, ...] | None = None
    preprocessing: Preprocessing | None = None
    output_activation: str | None = None
    color_order: str | None = None
    tflite: TfliteMetadata | None = None
    info: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Read the labels and settings embedded in ``path`` (an empty :class:`ModelMetadata` when there are none).

    :attr:`edgeml.model.ModelFile.metadata` gives the same from bytes already read.

    Raises:
        ModelFormatError: Metadata is readable but invalid (see :func:`parse_metadata`).
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ModelMetadata()
    return parse_metadata(data, path)


def parse_metadata(data: bytes, name: str | os.PathLike[str] = "model", *, flatbuffer_end: int | None = None,
                   classes: int | None = None) -> ModelMetadata:
    """Return the labels and settings embedded in the .tflite bytes ``data``.

    Damage is told apart from invalid contents. A metadata zip that cannot be read (truncated, a member failing its
    CRC, an unknown compression, encrypted) on an intact model loses what it held: the result has what could be
    read and :attr:`ModelMetadata.problems` says what was lost (a warning is logged; ``Classifier(strict=True)``
    refuses such a model). Contents that were read but are wrong (``edgeml.json`` not an object or with an invalid
    value, labels beyond the class count, a member inflating past its cap) raise.

    Args:
        data: The whole file.
        name: For messages.
        flatbuffer_end: Where the flatbuffer's objects end (from the verifier); the bytes after it are the
            appended zip. None: found from the zip's own directory.
        classes: The model's class count, to bound the labels (:func:`edgeml.labels.parse_labels`).

    Raises:
        ModelFormatError: Invalid ``edgeml.json``, or a member larger than its cap.
        LabelsError: The labels are beyond the model's classes.
    """
    label = one_line(str(name), 120)
    problems: list[str] = []
    try:
        std_meta = read_tflite_metadata(data, name)
    except ModelFormatError as exc:
        std_meta = None
        problems.append(f"its {TFLITE_METADATA} entry is unreadable ({one_line(exc, 120)}): normalization (mean, "
                        "std) and the labels file name were lost")
    members = _read_archive(data, flatbuffer_end, std_meta, problems, classes, label)
    info = _parse_info(members.get(METADATA_FILE), label)
    labels_name = std_meta.labels_file if std_meta and std_meta.labels_file else LABELS_FILE
    raw_labels = members.get(labels_name)
    labels = None
    if raw_labels is not None:
        try:
            text = raw_labels.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{labels_name} is not UTF-8 ({exc.reason} at byte {exc.start}): the labels were lost")
        else:
            labels = parse_labels(text, classes)
    prep = _preprocessing(info, label)
    if prep is None and std_meta is not None and std_meta.mean and std_meta.std:
        try:
            prep = Preprocessing(mean=std_meta.mean, std=std_meta.std)
        except InvalidArgumentError as exc:
            problems.append(f"its {TFLITE_METADATA} normalization is invalid ({one_line(exc, 120)}): it was ignored")
    activation = info.get("output_activation")
    if activation is not None and activation not in _ACTIVATIONS:
        raise ModelFormatError(f"{label!r} edgeml.json output_activation is {one_line(repr(activation), 40)}; "
                               "expected 'softmax', 'logits' or 'auto'. Re-run `edgeml convert`, or pass "
                               "output_activation= to override.")
    color = info.get("color_order") or (std_meta.color_space if std_meta and std_meta.color_space == "rgb" else None)
    if color not in (None, "rgb", "bgr"):
        raise ModelFormatError(f"{label!r} edgeml.json color_order is {one_line(repr(color), 40)}; expected 'rgb' or "
                               "'bgr'. Re-run `edgeml convert`.")
    if problems:
        log.warning("%s: damaged metadata: %s. Re-run `edgeml convert` to rewrite it.", label, "; ".join(problems))
    return ModelMetadata(labels=labels, preprocessing=prep, output_activation=activation, color_order=color,
                         tflite=std_meta, info=info, problems=tuple(problems))


def _read_archive(data: bytes, end: int | None, std_meta: TfliteMetadata | None, problems: list[str],
                  classes: int | None, label: str) -> dict[str, bytes]:
    """The members edgeml reads from the appended zip, each read with a size cap; damage noted in ``problems``."""
    tail = data[end:] if end is not None else b""
    if end is not None and not tail.strip(b"\x00"):
        return {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, OSError, EOFError, NotImplementedError (a zip version), ...
        if end is None and b"PK\x03\x04" not in data[-(1 << 20):]:
            return {}  # no flatbuffer end known and nothing zip-like: a model without metadata
        seen = sorted(set(_member_names(tail if end is not None else data)))
        problems.append(f"the {len(tail) if end is not None else 0:,} bytes appended after the flatbuffer are not "
                        f"a readable zip ({one_line(exc, 80)}): the labels and the preprocessing (resize, crop, "
                        f"mean/std) it holds are lost (members seen: {', '.join(seen) or 'none'})")
        return {}
    members: dict[str, bytes] = {}
    with archive:
        try:
            infos = {i.filename: i for i in archive.infolist()}
        except Exception as exc:  # zipfile raises many types on a damaged directory
            problems.append(f"its metadata zip's directory is unreadable ({one_line(exc, 80)}): labels and "
                            "preprocessing lost")
            return {}
        wanted = [METADATA_FILE, LABELS_FILE] + ([std_meta.labels_file] if std_meta and std_meta.labels_file else [])
        for member in dict.fromkeys(wanted):
            info = infos.get(member)
            if info is None:
                continue
            cap = _JSON_CAP if member == METADATA_FILE else label_bytes_limit(classes)
            try:
                with archive.open(info) as f:
                    raw = f.read(cap + 1)
            except Exception as exc:  # BadZipFile (CRC), zlib.error, NotImplementedError, RuntimeError
                problems.append(f"{member} in its metadata zip is unreadable ({type(exc).__name__}: "
                                f"{one_line(exc, 80)}): {_what(member)} lost")
                continue
            if len(raw) > cap:
                raise ModelFormatError(f"{label!r}: {member} in its metadata zip inflates past {cap:,} bytes (a "
                                       "decompression bomb, or not edgeml's metadata); it was not read. Re-run "
                                       "`edgeml convert` to rewrite the metadata.")
            members[member] = raw
    return members


def _member_names(blob: bytes) -> list[str]:
    """Member names in a damaged zip's local file headers (to say what was lost)."""
    names = []
    for m in re.finditer(rb"PK\x03\x04", blob):
        head = blob[m.start():m.start() + 30]
        if len(head) < 30:
            break
        n = struct.unpack_from("<H", head, 26)[0]
        raw = blob[m.start() + 30:m.start() + 30 + min(n, 64)]
        names.append(raw.decode("utf-8", "replace"))
    return names[:8]


def _what(member: str) -> str:
    return "the preprocessing (resize, crop, mean/std)" if member == METADATA_FILE else "the labels"


def _parse_info(raw: bytes | None, label: str) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        info = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelFormatError(f"{label!r} carries an edgeml.json that is not JSON ({one_line(exc, 100)}). Re-run "
                               "`edgeml convert` to rewrite it.") from exc
    if not isinstance(info, dict):
        raise ModelFormatError(f"{label!r} carries an edgeml.json holding a JSON {type(info).__name__}, not an "
                               "object. Re-run `edgeml convert` to rewrite it.")
    return info


def _preprocessing(info: dict[str, Any], label: str) -> Preprocessing | None:
    """``edgeml.json``'s preprocessing; a bad value is a ModelFormatError naming the field."""
    prep = info.get("preprocessing")
    if not prep:
        return None
    if not isinstance(prep, dict):
        raise ModelFormatError(f"{label!r} edgeml.json preprocessing is a JSON {type(prep).__name__}, not an "
                               "object. Re-run `edgeml convert`.")
    try:
        return Preprocessing.from_dict(prep)
    except (InvalidArgumentError, TypeError, ValueError, OverflowError) as exc:
        field = next((k for k in prep if not _valid_field(k, prep[k])), None)
        value = one_line(repr(prep.get(field)), 60) if field else ""
        raise ModelFormatError(f"{label!r} edgeml.json preprocessing.{field or '?'} = {value} is invalid "
                               f"({one_line(exc, 120)}). Re-run `edgeml convert`, or pass preprocessing= to "
                               "override.") from exc


def _valid_field(key: str, value: Any) -> bool:
    try:
        Preprocessing.from_dict({key: value})
    except (InvalidArgumentError, TypeError, ValueError, OverflowError):
        return False
    return True


def read_tflite_metadata(model: bytes, name: str | os.PathLike[str] = "model") -> TfliteMetadata | None:
    """Return the standard ``TFLITE_METADATA`` of a .tflite flatbuffer, or None when it has none.

    Raises:
        ModelFormatError: The entry exists but its flatbuffer is corrupt.
    """
    if len(model) < 8 or model[4:8] != b"TFL3":
        return None
    try:
        meta = _metadata_buffer(root(model), model)
    except ModelFormatError:
        return None  # not a readable model flatbuffer: the interpreter reports that, with its own message
    if meta is None or meta[4:8] != b"M001":
        return None
    try:
        return _parse_model_metadata(root(meta))
    except (ModelFormatError, UnicodeDecodeError, InvalidArgumentError) as exc:
        raise ModelFormatError(f"{str(name)!r} has a corrupt {TFLITE_METADATA} entry ({exc}). "
                               "Re-run `edgeml convert` to rewrite the model's metadata.") from exc


def _metadata_buffer(model: Table, data: bytes) -> bytes | None:
    # Model: buffers = field 4, metadata = field 6; Metadata: name 0, buffer 1; Buffer: data 0, offset 1, size 2.
    for entry in model.tables(6):
        if entry.string(0) == TFLITE_METADATA:
            buffers = model.tables(4)
            index = int(entry.scalar(1, "<I"))
            if index >= len(buffers):
                raise ModelFormatError(f"metadata buffer index {index} out of range")
            buffer = buffers[index]
            offset, size = int(buffer.scalar(1, "<Q")), int(buffer.scalar(2, "<Q"))
            if offset > 1:  # large models keep buffers outside the flatbuffer, at an absolute file offset
                return data[offset:offset + size]
            return buffer.bytes_(0)
    return None


def _parse_model_metadata(meta: Table) -> TfliteMetadata:
    # ModelMetadata: name 0, description 1, version 2, subgraph_metadata 3, ..., min_parser_version 7.
    mean = std = color = labels_file = None
    subgraphs = meta.tables(3)
    if subgraphs:
        inputs, outputs = subgraphs[0].tables(2), subgraphs[0].tables(3)
        if inputs:
            # TensorMetadata: content 3, process_units 4; Content: properties_type 0, properties 1.
            for unit in inputs[0].tables(4):
                options = unit.table(1)
                if unit.scalar(0, "<B") == _NORMALIZATION_OPTIONS and options is not None:
                    mean = tuple(float(v) for v in options.numbers(0, "<f") or ()) or None
                    std = tuple(float(v) for v in options.numbers(1, "<f") or ()) or None
            content = inputs[0].table(3)
            props = content.table(1) if content is not None and content.scalar(0, "<B") == 2 else None
            if props is not None:
                color = _COLOR_SPACES.get(int(props.scalar(0, "<b")))
        if outputs:
            # TensorMetadata.associated_files = 6; AssociatedFile: name 0, type 2.
            for f in outputs[0].tables(6):
                if f.scalar(2, "<b") == _TENSOR_AXIS_LABELS:
                    labels_file = f.string(0)
                    break
    return TfliteMetadata(name=meta.string(0), description=meta.string(1), version=meta.string(2),
                          min_parser_version=meta.string(7), mean=mean, std=std, color_space=color,
                          labels_file=labels_file)


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
            # A fixed timestamp: the same model and files give the same bytes (reproducible builds).
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)
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
