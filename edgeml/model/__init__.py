"""The model file: a .tflite read once, its graph, its metadata; no TensorFlow and no interpreter needed.

- :mod:`~edgeml.model.file`: :class:`ModelFile`, the read-once object every consumer shares;
- :mod:`~edgeml.model.graph`: :func:`parse_graph`, the flatbuffer's subgraphs, tensors and ops;
- :mod:`~edgeml.model.metadata`: labels and preprocessing (standard TFLite metadata, the appended zip);
- :mod:`~edgeml.model.schema`: enum names of TFLite's ``schema.fbs``; ``_flatbuf``: the table reader.
"""

from __future__ import annotations

from edgeml.model.file import EDGETPU_CUSTOM_OP, ModelFile, check_model_file, read_graph
from edgeml.model.graph import Graph, Operator, Quantization, Subgraph, Tensor, parse_graph
from edgeml.model.metadata import ModelMetadata, TfliteMetadata, parse_metadata, read_metadata

__all__ = [
    "EDGETPU_CUSTOM_OP",
    "Graph",
    "ModelFile",
    "ModelMetadata",
    "Operator",
    "Quantization",
    "Subgraph",
    "Tensor",
    "TfliteMetadata",
    "check_model_file",
    "parse_graph",
    "parse_metadata",
    "read_graph",
    "read_metadata",
]
