"""edgeml: on-device image classification for Raspberry Pi and Coral.

The runtime needs numpy, Pillow and a TFLite interpreter (``ai-edge-litert``); it never imports TensorFlow.
"""

from edgeml._version import __version__
from edgeml.classifier import Classifier
from edgeml.errors import (
    ConversionError,
    EdgemlError,
    EdgeTpuError,
    ImageError,
    InterpreterUnavailableError,
    LabelsError,
    MissingDependencyError,
    ModelCompatibilityError,
    ModelFormatError,
    ModelNotFoundError,
)
from edgeml.image import load_image
from edgeml.labels import read_labels
from edgeml.postprocess import Classification
from edgeml.preprocess import Preprocessing
from edgeml.streaming import stream
from edgeml.tensors import TensorSpec

__all__ = [
    "Classification",
    "Classifier",
    "ConversionError",
    "EdgeTpuError",
    "EdgemlError",
    "ImageError",
    "InterpreterUnavailableError",
    "LabelsError",
    "MissingDependencyError",
    "ModelCompatibilityError",
    "ModelFormatError",
    "ModelNotFoundError",
    "Preprocessing",
    "TensorSpec",
    "__version__",
    "load_image",
    "read_labels",
    "stream",
]
