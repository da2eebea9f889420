"""The image classifier: composes image → preprocess → invoke → postprocess; holds no logic of its own."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgeml import postprocess, preprocess
from edgeml.errors import LabelsError, ModelFormatError
from edgeml.image import ImageInput, as_array
from edgeml.labels import read_labels
from edgeml.metadata import ModelMetadata, read_metadata
from edgeml.postprocess import Classification
from edgeml.preprocess import Preprocessing
from edgeml.tensors import TensorSpec

__all__ = ["Classifier"]


class Classifier:
    """Classify images with a TFLite model.

    Example::

        clf = edgeml.Classifier("model_int8.tflite")          # labels come from the model when it carries them
        for r in clf.classify("cat.jpg", top_k=3):
            print(r.label, f"{r.score:.2f}")

    Settings resolve as: explicit argument > model metadata > default (stretch resize, raw 0..255 pixels).

    Args:
        model: Path to a ``.tflite`` file with one image input ``(1, H, W, 1|3)`` and one ``(1, N)`` output.
        labels: A labels file or a sequence of names; None uses the labels embedded in the model, else indices.
        num_threads: CPU threads for the interpreter (None: the backend's default).
        preprocessing: Override the model's recorded :class:`Preprocessing`.
        output_activation: ``"softmax"`` (outputs are probabilities), ``"logits"`` or ``"auto"``.
        backend: Interpreter package; see :func:`edgeml.interpreter.load_backend`.
        delegates: Interpreter delegates, passed through.
        device: ``"cpu"``, or an Edge TPU: ``"usb"``, ``"usb:0"``, ``"pci:0"``, ``"auto"`` (loads libedgetpu.so.1).
        fallback: ``"cpu"`` to run on the CPU, with a warning, when the Edge TPU cannot be used; None raises.

    Raises:
        ModelNotFoundError, ModelFormatError: The file is missing, not a TFLite model, or not a classifier.
        LabelsError: The labels are unreadable or their count differs from the model's classes.
        InterpreterUnavailableError: No working TFLite interpreter package is installed.
        EdgeTpuError: The Edge TPU cannot be used; the message names the fix (see :mod:`edgeml.edgetpu.delegate`).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        labels: str | os.PathLike[str] | Sequence[str] | None = None,
        *,
        num_threads: int | None = None,
        preprocessing: Preprocessing | None = None,
        output_activation: str | None = None,
        backend: str = "auto",
        delegates: list[Any] | None = None,
        device: str = "cpu",
        fallback: str | None = None,
    ) -> None:
        from edgeml.edgetpu.delegate import open_for_device  # here: `import edgeml` stays free of device code

        opened = open_for_device(model, device=device, fallback=fallback, num_threads=num_threads,
                                 delegates=delegates, backend=backend)
        self._interpreter, self._backend, self.device = opened.interpreter, opened.backend, opened.device
        self.model_path = model = opened.model_path  # the CPU fallback may run the model from before compilation
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFormatError(
                f"{str(model)!r} is not an image classifier: it has {len(inputs)} inputs and {len(outputs)} outputs "
                "(expected 1 and 1). Detection or multi-head models are not supported by Classifier."
            )
        self.input = TensorSpec.from_details(inputs[0])
        self.output = TensorSpec.from_details(outputs[0])
        self.height, self.width, self.channels = preprocess.input_size(self.input)
        self.num_classes = int(np.prod(self.output.shape))
        if len(self.output.shape) > 2 or (len(self.output.shape) == 2 and self.output.shape[0] != 1):
            raise ModelFormatError(
                f"{str(model)!r} output must be (1, N) class scores. Received: shape={self.output.shape}."
            )

        self.metadata: ModelMetadata = read_metadata(model)
        self.preprocessing = preprocessing or self.metadata.preprocessing or Preprocessing()
        self.output_activation = output_activation or self.metadata.output_activation or "auto"
        if labels is not None:
            self.labels: tuple[str, ...] | None = read_labels(labels)
        else:
            self.labels = self.metadata.labels
        if self.labels is not None and len(self.labels) != self.num_classes:
            raise LabelsError(
                f"{len(self.labels)} labels given but the model has {self.num_classes} classes. "
                "Pass the labels file written with this model (one name per line, in output order)."
            )
        # The interpreter is not thread-safe; one lock keeps concurrent classify() calls correct.
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The interpreter package in use, e.g. ``"ai_edge_litert"``."""
        return self._backend.name

    def preprocess(self, image: ImageInput) -> np.ndarray:
        """Return the input tensor for ``image`` (any size; path, PIL.Image or uint8 RGB array)."""
        pixels = as_array(image, "L" if self.channels == 1 else "RGB")
        pixels = preprocess.resize(pixels, (self.height, self.width), self.preprocessing)
        return preprocess.to_input_tensor(pixels, self.input, self.preprocessing)

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model on a prepared input tensor and return a copy of the raw output tensor.

        Raises:
            ModelFormatError: ``tensor`` does not match the model's input shape or dtype.
        """
        if tensor.shape != self.input.shape or tensor.dtype != self.input.dtype:
            raise ModelFormatError(
                f"Input tensor must be {self.input.dtype_name} of shape {self.input.shape}. "
                f"Received: dtype={tensor.dtype}, shape={tensor.shape}. Use Classifier.preprocess(image)."
            )
        with self._lock:
            self._interpreter.set_tensor(self.input.index, tensor)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self.output.index).copy()

    def scores(self, image: ImageInput) -> np.ndarray:
        """Return every class's probability, float32 ``(num_classes,)``."""
        return postprocess.to_scores(self.invoke(self.preprocess(image)), self.output, self.output_activation)

    def classify(self, image: ImageInput, top_k: int = 5, threshold: float = 0.0) -> list[Classification]:
        """Return the ``top_k`` most likely classes of ``image``, best first.

        Args:
            image: A path, a ``PIL.Image`` (any mode) or a uint8 array ``(H, W, 3)`` RGB, any size.
            top_k: How many classes to return at most.
            threshold: Drop classes scoring below this probability.
        """
        return postprocess.top_k(self.scores(image), self.labels, top_k, threshold)

    def close(self) -> None:
        """Release the interpreter (and with it any delegate)."""
        self._interpreter = None

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Classifier({str(self.model_path)!r}, input={self.input.dtype_name}{list(self.input.shape)}, "
            f"classes={self.num_classes}, backend={self.backend!r})"
        )
