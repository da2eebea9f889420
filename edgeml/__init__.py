"""edgeml: on-device image classification for Raspberry Pi and Coral.

The runtime needs numpy, Pillow and a TFLite interpreter (``ai-edge-litert``); it never imports TensorFlow.
"""

from edgeml._version import __version__
from edgeml.boards.profiles import BoardProfile
from edgeml.errors import (
    BoardProfileError,
    BundleError,
    CompilerNotFoundError,
    ConversionError,
    EdgemlError,
    EdgeTpuError,
    ImageError,
    IndexFileError,
    InterpreterUnavailableError,
    InvalidArgumentError,
    InvalidSourceError,
    LabelsError,
    LearnError,
    MissingDependencyError,
    ModelCompatibilityError,
    ModelFormatError,
    ModelNotFoundError,
    ServiceConfigError,
    SinkError,
    SourceError,
    StoreError,
    StreamStalledError,
)
from edgeml.frame import Frame
from edgeml.image.load import load_image
from edgeml.inference.classifier import Classifier
from edgeml.inference.embedder import Embedder
from edgeml.inference.prediction import Prediction, Timings
from edgeml.labels import read_labels
from edgeml.model import ModelFile
from edgeml.postprocess.classification import Classification
from edgeml.postprocess.embedding import Embedding, cosine_similarity
from edgeml.preprocess import Preprocessing
from edgeml.run import Run, RunSpec, open_run
from edgeml.settings import RunSettings, resolve_settings
from edgeml.similarity import Index
from edgeml.streaming import Stream, StreamResult, StreamStats, stream
from edgeml.tensors import TensorSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from edgeml.interpreter.verification import Verification, verify_model


def __getattr__(name: str) -> object:
    """``verify_model`` and ``Verification`` load on first use (the probe's subprocess machinery is not needed
    by a kiosk that only classifies)."""
    if name in ("Verification", "verify_model"):
        from edgeml.interpreter import verification

        return getattr(verification, name)
    raise AttributeError(f"module 'edgeml' has no attribute {name!r}")

__all__ = [
    "BoardProfile",
    "BoardProfileError",
    "BundleError",
    "Classification",
    "Classifier",
    "CompilerNotFoundError",
    "ConversionError",
    "EdgeTpuError",
    "EdgemlError",
    "Embedder",
    "Embedding",
    "Frame",
    "ImageError",
    "Index",
    "IndexFileError",
    "InterpreterUnavailableError",
    "InvalidArgumentError",
    "InvalidSourceError",
    "LabelsError",
    "LearnError",
    "MissingDependencyError",
    "ModelCompatibilityError",
    "ModelFile",
    "ModelFormatError",
    "ModelNotFoundError",
    "Prediction",
    "Preprocessing",
    "Run",
    "RunSettings",
    "RunSpec",
    "ServiceConfigError",
    "SinkError",
    "SourceError",
    "StoreError",
    "Stream",
    "StreamResult",
    "StreamStalledError",
    "StreamStats",
    "TensorSpec",
    "Timings",
    "Verification",
    "__version__",
    "cosine_similarity",
    "load_image",
    "open_run",
    "read_labels",
    "resolve_settings",
    "stream",
    "verify_model",
]
