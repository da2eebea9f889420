"""Write standard TFLite model metadata (``TFLITE_METADATA``) into a .tflite flatbuffer, without tflite-support.

``tflite-support`` (the reference writer) pins protobuf < 4 and cannot share a venv with TensorFlow 2.21, so the
``ModelMetadata`` flatbuffer is built by :mod:`edgeml.model.metadata_writer` (runtime code: ``edgeml learn export``
writes it on the device too; re-exported here).

The metadata buffer is then added to the model's ``buffers`` and named in its ``metadata`` list, via TensorFlow's
generated model-schema classes (host only). :func:`edgeml.model.metadata.read_tflite_metadata` reads it back without
TensorFlow; the associated files themselves travel in the zip :func:`edgeml.model.metadata.embed` appends.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

import numpy as np

from edgeml.model.metadata import TFLITE_METADATA
from edgeml.model.metadata_writer import MIN_PARSER_VERSION, ImageClassifierMetadata, build_metadata

__all__ = ["MIN_PARSER_VERSION", "ImageClassifierMetadata", "add_metadata", "build_metadata", "schema"]


@cache
def schema() -> ModuleType:
    """Return TensorFlow's generated TFLite model-schema module, to *write* flatbuffers (host only).

    Reading needs no TensorFlow: use :mod:`edgeml.model.graph`.
    """
    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("writing .tflite flatbuffers")
    return importlib.import_module("tensorflow.lite.python.schema_py_generated")


def add_metadata(model: bytes, metadata: bytes) -> bytes:
    """Return ``model`` (a .tflite flatbuffer, no appended zip) with ``metadata`` as its ``TFLITE_METADATA``.

    An existing ``TFLITE_METADATA`` entry is replaced; the model's other metadata (``min_runtime_version``,
    ``CONVERSION_METADATA``) is kept. Deterministic: the same inputs give the same bytes.
    """
    import flatbuffers

    fb = schema()
    m = fb.ModelT.InitFromPackedBuf(bytearray(model), 0)
    buffer = fb.BufferT()
    buffer.data = np.frombuffer(metadata, dtype=np.uint8)
    m.buffers = m.buffers or []
    m.metadata = [e for e in (m.metadata or []) if _name(e.name) != TFLITE_METADATA]
    m.buffers.append(buffer)
    entry = fb.MetadataT()
    entry.name = TFLITE_METADATA
    entry.buffer = len(m.buffers) - 1
    m.metadata.append(entry)
    b = flatbuffers.Builder(len(model) + len(metadata) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _name(value: bytes | str | None) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")


