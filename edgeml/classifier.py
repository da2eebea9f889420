"""The image classifier: composes frame → preprocess → invoke → postprocess; holds no logic of its own."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from edgeml import postprocess, preprocess
from edgeml.errors import LabelsError, ModelFormatError
from edgeml.frame import Frame
from edgeml.image import ImageInput
from edgeml.labels import read_labels
from edgeml.interpreter.open import open_model
from edgeml.model.metadata import ModelMetadata
from edgeml.postprocess import Classification
from edgeml.prediction import Prediction, Timings
from edgeml.preprocess import InputQuantizer, Preprocessing, plan_input, resolve_preprocessing, to_frame, write_input
from edgeml.preprocess.resampling import backend as resize_backend
from edgeml.tensors import TensorSpec

__all__ = ["Classifier"]


class Classifier:
    """Classify images with a TFLite model.

    Example::

        clf = edgeml.Classifier("model_int8.tflite")          # labels come from the model when it carries them
        for r in clf.classify("cat.jpg", top_k=3):
            print(r.label, f"{r.score:.2f}")
        clf.classify(Frame(yuv, "I420"))                      # camera frames in any edgeml.frame format
        prediction = clf.run(frame)                            # results plus per-stage timings
        print(prediction.timings.to_dict())

    Preprocessing resolves as: explicit argument > board profile > model metadata > default (stretch resize,
    raw 0..255 pixels); see :func:`edgeml.preprocess.resolve_preprocessing`.

    Args:
        model: Path to a ``.tflite`` file with one image input ``(1, H, W, 1|3)`` and one ``(1, N)`` output.
        labels: A labels file or a sequence of names; None uses the labels embedded in the model, else indices.
        num_threads: CPU threads for the interpreter (None: the backend's default).
        preprocessing: Override the model's recorded :class:`Preprocessing`: a full one, or a mapping of some
            fields (e.g. ``{"resize": "letterbox"}``) that keeps the model's other settings.
        output_activation: ``"softmax"`` (outputs are probabilities), ``"logits"`` or ``"auto"``.
        board: A board profile: its name (``edgeml boards list``), ``"auto"`` to detect this machine, or its
            defaults (mapping from :func:`edgeml.boards.runtime_defaults`, or an object with a ``preprocessing``
            entry/attribute). It sets ``num_threads`` and preprocessing fields not given explicitly.
        allow: Only report these classes (names or indices).
        deny: Never report these classes (names or indices).
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
        preprocessing: Preprocessing | Mapping[str, Any] | None = None,
        output_activation: str | None = None,
        backend: str = "auto",
        delegates: list[Any] | None = None,
        device: str = "cpu",
        fallback: str | None = None,
        board: str | Mapping[str, Any] | Any | None = None,
        allow: Sequence[str | int] | None = None,
        deny: Sequence[str | int] | None = None,
    ) -> None:
        if isinstance(board, str):  # a profile name, or "auto" to detect this machine
            from edgeml.boards.defaults import runtime_defaults

            board = runtime_defaults(board)
        if num_threads is None and isinstance(board, Mapping):
            num_threads = board.get("num_threads")  # explicit argument > board profile > the backend's default
        self.num_threads = num_threads
        opened = open_model(model, device=device, fallback=fallback, num_threads=num_threads,
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

        self.metadata: ModelMetadata = opened.model.metadata
        self.preprocessing: Preprocessing = resolve_preprocessing(preprocessing, board, self.metadata.preprocessing)
        self.output_activation = postprocess.resolve_activation(
            self.output, output_activation or self.metadata.output_activation or "auto"
        )
        if self.output_activation not in ("softmax", "logits", "auto"):
            raise ValueError(
                f"output_activation must be 'softmax', 'logits' or 'auto'. Received: {self.output_activation!r}"
            )
        self._quantizer = InputQuantizer.for_input(self.input, self.preprocessing, self.channels)
        # Functions returning fresh views of the interpreter's buffers: safe to keep, unlike the views themselves.
        self._input_view = self._interpreter.tensor(self.input.index)
        self._output_view = self._interpreter.tensor(self.output.index)
        if labels is not None:
            self.labels: tuple[str, ...] | None = read_labels(labels)
        else:
            self.labels = self.metadata.labels
        if self.labels is not None and len(self.labels) != self.num_classes:
            raise LabelsError(
                f"{len(self.labels)} labels given but the model has {self.num_classes} classes. "
                "Pass the labels file written with this model (one name per line, in output order)."
            )
        self._decode_output = postprocess.OutputDecoder(
            self.output, self.labels, self.output_activation,
            postprocess.label_mask(self.labels, self.num_classes, allow, deny),
        )
        self._plan: tuple[tuple[Any, ...], Any] | None = None  # (frame geometry, Writer) of the last frame
        # The interpreter is not thread-safe; one lock keeps concurrent classify() calls correct.
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The interpreter package in use, e.g. ``"ai_edge_litert"``."""
        return self._backend.name

    @property
    def interpreter(self) -> Any:
        """The underlying TFLite ``Interpreter`` (for benchmarks and advanced use; not thread-safe)."""
        return self._interpreter

    def decode(self, output: np.ndarray, top_k: int = 5, threshold: float = 0.0) -> list[Classification]:
        """Return the top classes of a raw output tensor from :meth:`invoke` (labels, allow/deny lists applied).

        ``preprocess`` → ``invoke`` → ``decode`` is :meth:`classify` in steps, for pipelines that prepare the next
        frame's tensor on another thread while this one runs.
        """
        return self._decode_output(output, top_k, threshold)

    def preprocess(self, image: ImageInput | Frame) -> np.ndarray:
        """Return a new input tensor for ``image`` (path, PIL.Image, uint8 array or :class:`Frame`, any size)."""
        out = np.empty(self.input.shape, self.input.dtype)
        write_input(to_frame(image, self.channels), out[0], self.preprocessing, self._quantizer)
        return out

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

    def scores(self, image: ImageInput | Frame) -> np.ndarray:
        """Return every class's probability, float32 ``(num_classes,)``."""
        return postprocess.to_scores(self.invoke(self.preprocess(image)), self.output, self.output_activation)

    def run(self, image: ImageInput | Frame, top_k: int = 5, threshold: float = 0.0) -> Prediction:
        """Classify ``image`` and time each stage: the fast path behind :meth:`classify`.

        Pixels are written straight into the interpreter's input tensor (no intermediate tensor), and only the
        winning classes are dequantized.

        Args:
            image: A :class:`~edgeml.frame.Frame` in any format, a path, a ``PIL.Image`` or a uint8 array
                ``(H, W)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, any size.
            top_k: How many classes to return at most.
            threshold: Drop classes scoring below this probability.

        Returns:
            A :class:`Prediction` with the results and per-stage :class:`Timings`.

        Raises:
            ImageError: The image is unreadable or of the wrong kind (dtype, channels, size, layout).
        """
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1. Received: {top_k}")
        t0 = time.perf_counter()
        frame = to_frame(image, self.channels)
        with self._lock:
            t1 = time.perf_counter()
            # TFLite's rule: never hold a view of a tensor buffer across invoke()/allocate_tensors(); take a fresh
            # one for each write and read, and drop it before the interpreter runs.
            px = frame.pixels
            key = (frame.format, frame.width, frame.height, px.shape, px.strides, resize_backend())
            if self._plan is None or self._plan[0] != key:
                shape = self.input.shape[1:]
                self._plan = key, plan_input(frame, shape, self.preprocessing, self._quantizer)
            view = self._input_view()
            try:
                self._plan[1](frame, view[0])
            finally:
                del view
            t2 = time.perf_counter()
            self._interpreter.invoke()
            t3 = time.perf_counter()
            output = self._output_view()
            try:
                results = self._decode_output(output, top_k, threshold)
            finally:
                del output
            t4 = time.perf_counter()
        return Prediction(results, Timings(t1 - t0, t2 - t1, t3 - t2, t4 - t3))

    def classify(
        self,
        image: ImageInput | Frame,
        top_k: int = 5,
        threshold: float = 0.0,
        *,
        timings: dict[str, float] | None = None,
    ) -> list[Classification]:
        """Return the ``top_k`` most likely classes of ``image``, best first.

        Args:
            image: A :class:`~edgeml.frame.Frame` in any format, a path, a ``PIL.Image`` or a uint8 array
                ``(H, W, 3)`` RGB, any size.
            top_k: How many classes to return at most.
            threshold: Drop classes scoring below this probability.
            timings: A dict to fill with milliseconds per stage (``decode``, ``preprocess``, ``invoke``,
                ``postprocess``, ``total``); or use :meth:`run` for a :class:`Prediction`.
        """
        prediction = self.run(image, top_k, threshold)
        if timings is not None:
            timings.update(prediction.timings.to_dict())
        return prediction.results

    def close(self) -> None:
        """Release the interpreter (and with it any delegate)."""
        self._input_view = self._output_view = None
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
