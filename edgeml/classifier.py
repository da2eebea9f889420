"""The image classifier: resolves its settings, opens the model, and runs frames through one :class:`Pipeline`."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from edgeml import postprocess, preprocess
from edgeml.errors import InvalidArgumentError, LabelsError, ModelFormatError
from edgeml.frame import Frame
from edgeml.image import ImageInput
from edgeml.interpreter.open import ModelInput, as_model_file, open_model
from edgeml.labels import read_labels
from edgeml.model.metadata import ModelMetadata
from edgeml.pipeline import Pipeline
from edgeml.postprocess import Classification
from edgeml.prediction import Prediction
from edgeml.preprocess import InputPlanner, InputQuantizer, Preprocessing, to_frame
from edgeml.settings import RunSettings, resolve_settings
from edgeml.store.identity import StoreIdentity, is_store_ref, resolve_ref
from edgeml.tensors import TensorSpec

__all__ = ["Classifier"]

ACTIVATIONS = ("softmax", "logits", "auto")


class Classifier:
    """Classify images with a TFLite model.

    Example::

        clf = edgeml.Classifier("model_int8.tflite")          # labels come from the model when it carries them
        for r in clf.classify("cat.jpg", top_k=3):
            print(r.label, f"{r.score:.2f}")
        clf.classify(Frame(yuv, "I420"))                      # camera frames in any edgeml.frame format
        prediction = clf.run(frame)                            # results plus per-stage timings
        print(prediction.timings.to_dict())
        edgeml.Classifier(model, board="auto")                 # this machine's profile: threads, its Edge TPU

    Every setting resolves as: explicit argument > board profile > model metadata > default
    (:func:`edgeml.settings.resolve_settings`); :attr:`settings` says where each value came from.

    Args:
        model: A ``.tflite`` path (or an :class:`edgeml.model.ModelFile` already read) with one image input
            ``(1, H, W, 1|3)`` and one ``(1, N)`` output; or ``"store:NAME"`` (the version the model store's
            ``current`` points at) / ``"store:NAME@VERSION"`` (:mod:`edgeml.store`), whose identity is then
            :attr:`identity`.
        labels: A labels file or a sequence of names; None uses the labels embedded in the model, else indices.
        num_threads: CPU threads for the interpreter (None: the board's, else the interpreter's default).
        preprocessing: Override the model's recorded :class:`Preprocessing`: a full one, or a mapping of some
            fields (e.g. ``{"resize": "letterbox"}``) that keeps the model's other settings.
        output_activation: ``"softmax"`` (outputs are probabilities), ``"logits"`` or ``"auto"``.
        board: A board profile: its name (``edgeml boards list``), ``"auto"`` to detect this machine, a
            :class:`~edgeml.boards.BoardProfile` or :class:`~edgeml.boards.Detection`, or a mapping of defaults
            (as :func:`edgeml.boards.runtime_defaults` returns). It sets threads, the device (a board's Edge TPU,
            with a CPU fallback) and preprocessing fields not given explicitly.
        allow: Only report these classes (names or indices).
        deny: Never report these classes (names or indices).
        backend: Interpreter package; see :func:`edgeml.interpreter.load_backend`.
        delegates: Interpreter delegates, passed through.
        device: ``"cpu"``, or an Edge TPU: ``"usb"``, ``"usb:0"``, ``"pci:0"``, ``"auto"`` (loads libedgetpu.so.1);
            None: the board's Edge TPU if it has one, else the CPU.
        fallback: ``"cpu"`` to run on the CPU, with a warning, when the Edge TPU cannot be used; None raises
            (a device that came from the board falls back to the CPU unless told otherwise).
        strict: Refuse a model whose metadata is damaged (an unreadable zip of labels and preprocessing). By
            default such a model loads with what could be read and a warning saying what was lost
            (:attr:`edgeml.model.ModelMetadata.problems`).
        store: The model store folder for a ``store:`` model (None: ``$EDGEML_STORE`` or the default).

    Attributes:
        identity: For a ``store:`` model, its :class:`~edgeml.store.identity.StoreIdentity` (name and integer
            version from the signed manifest: what every stream result reports as ``model``); else None.

    Every model is verified before the interpreter sees it (:mod:`edgeml.model.verify`): a damaged or crafted
    file raises :class:`~edgeml.ModelFormatError` instead of crashing the process. For a model from an
    untrusted source, :func:`edgeml.verify_model` with ``probe=True`` also runs it once in a child process.

    Raises:
        ModelNotFoundError, ModelFormatError: The file is missing, not a valid TFLite model (the verifier's message
            says where), not a classifier, or (``strict``) its metadata is damaged.
        LabelsError: The labels are unreadable or their count differs from the model's classes.
        InterpreterUnavailableError: No working TFLite interpreter package is installed.
        EdgeTpuError: The Edge TPU cannot be used; the message names the fix (see :mod:`edgeml.edgetpu.delegate`).
        InvalidArgumentError: A setting is out of range or unknown.
    """

    def __init__(
        self,
        model: ModelInput,
        labels: str | os.PathLike[str] | Sequence[str] | None = None,
        *,
        num_threads: int | None = None,
        preprocessing: Preprocessing | Mapping[str, Any] | None = None,
        output_activation: str | None = None,
        backend: str = "auto",
        delegates: list[Any] | None = None,
        device: str | None = None,
        fallback: str | None = None,
        board: str | Mapping[str, Any] | Any | None = None,
        allow: Sequence[str | int] | None = None,
        deny: Sequence[str | int] | None = None,
        strict: bool = False,
        store: str | os.PathLike[str] | None = None,
    ) -> None:
        self._options: dict[str, Any] = dict(
            labels=labels, num_threads=num_threads, preprocessing=preprocessing, output_activation=output_activation,
            backend=backend, delegates=delegates, device=device, fallback=fallback, board=board, allow=allow,
            deny=deny, strict=strict, store=store)
        self.identity: StoreIdentity | None = None
        if is_store_ref(model):
            model, self.identity = resolve_ref(str(model), store, device)
        if output_activation not in (None, *ACTIVATIONS):
            raise InvalidArgumentError(f"output_activation must be 'softmax', 'logits' or 'auto'. "
                                       f"Received: {output_activation!r}")
        asked: dict[str, Any] = dict(threads=num_threads, device=device, fallback=fallback,
                                     preprocessing=preprocessing, board=board)
        file = as_model_file(model)
        file.verify()
        if strict and file.metadata.problems:
            raise ModelFormatError(f"{file.name!r} has damaged metadata (strict=True): {file.metadata.problems[0]}. "
                                   "Re-run `edgeml convert` to rewrite it.")
        settings = resolve_settings(**asked, model=file.metadata)
        if self.identity is not None and device is None and settings.device != "cpu":  # the board's Edge TPU
            tpu_model, _ = resolve_ref(self.identity.ref, store, settings.device)
            file = as_model_file(tpu_model) if tpu_model != file.path else file
        opened = open_model(file, device=settings.device, fallback=settings.fallback, num_threads=settings.threads,
                            delegates=delegates, backend=backend)
        if opened.model is not file:  # the CPU fallback runs the model from before edgetpu_compiler
            settings = resolve_settings(**asked, model=opened.model.metadata)
        self.settings: RunSettings = settings
        self.num_threads = settings.threads
        self.model = opened.model
        self.model_path = opened.model_path
        self.device, self.notes = opened.device, tuple(opened.notes)
        self._interpreter, self._backend = opened.interpreter, opened.backend
        self.input, self.output = self._tensors(opened.interpreter)
        self.height, self.width, self.channels = preprocess.input_size(self.input)
        self.num_classes = int(np.prod(self.output.shape))

        self.metadata: ModelMetadata = opened.model.metadata
        self.preprocessing: Preprocessing = settings.preprocessing
        self.output_activation = postprocess.resolve_activation(
            self.output, output_activation or self.metadata.output_activation or "auto")
        if self.output_activation not in ACTIVATIONS:
            raise ModelFormatError(f"{self.model.name!r} records output_activation {self.output_activation!r}; "
                                   "expected 'softmax', 'logits' or 'auto'. Pass output_activation= to override.")
        self.labels: tuple[str, ...] | None = (read_labels(labels, max_classes=self.num_classes) if labels is not None
                                               else self.metadata.labels)
        if self.labels is not None and len(self.labels) != self.num_classes:
            raise LabelsError(
                f"{len(self.labels)} labels given but the model has {self.num_classes} classes. "
                "Pass the labels file written with this model (one name per line, in output order)."
            )
        quantizer = InputQuantizer.for_input(self.input, self.preprocessing, self.channels)
        decoder = postprocess.OutputDecoder(self.output, self.labels, self.output_activation,
                                            postprocess.label_mask(self.labels, self.num_classes, allow, deny))
        self.pipeline = Pipeline(self._interpreter, self.input, self.output,
                                 InputPlanner((self.height, self.width, self.channels), self.preprocessing,
                                              quantizer), decoder)

    def _tensors(self, interpreter: Any) -> tuple[TensorSpec, TensorSpec]:
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFormatError(
                f"{self.model.name!r} is not an image classifier: it has {len(inputs)} inputs and {len(outputs)} "
                "outputs (expected 1 and 1). Detection or multi-head models are not supported by Classifier."
            )
        spec_in, spec_out = TensorSpec.from_details(inputs[0]), TensorSpec.from_details(outputs[0])
        if len(spec_out.shape) > 2 or (len(spec_out.shape) == 2 and spec_out.shape[0] != 1):
            raise ModelFormatError(
                f"{self.model.name!r} output must be (1, N) class scores. Received: shape={spec_out.shape}."
            )
        return spec_in, spec_out

    def reopen(self, model: ModelInput) -> Classifier:
        """Return a new Classifier for ``model`` with this one's settings (threads, device, board, preprocessing,
        allow/deny, store): what a stream builds beside the running one before a hot swap."""
        return Classifier(model, **self._options)

    @property
    def backend(self) -> str:
        """The interpreter package in use, e.g. ``"ai_edge_litert"``."""
        return self._backend.name

    @property
    def input_path(self) -> str:
        """How pixel bytes become the input: ``"copy"``, ``"xor"`` (int8 bit flip) or ``"lut"`` (a table)."""
        return self.pipeline.planner.quantizer.kind

    @property
    def interpreter(self) -> Any:
        """The underlying TFLite ``Interpreter`` (for benchmarks and advanced use; not thread-safe)."""
        return self._interpreter

    def decode(self, output: np.ndarray, top_k: int = 5, threshold: float = 0.0) -> list[Classification]:
        """Return the top classes of a raw output tensor from :meth:`invoke` (labels, allow/deny lists applied).

        ``preprocess`` → ``invoke`` → ``decode`` is :meth:`classify` in steps.
        """
        _check_request(top_k, threshold)
        return self.pipeline.decoder(output, top_k, threshold)

    def preprocess(self, image: ImageInput | Frame) -> np.ndarray:
        """Return a new input tensor for ``image`` (path, PIL.Image, uint8 array or :class:`Frame`, any size)."""
        return self.pipeline.prepare(to_frame(image, self.channels))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model on a prepared input tensor and return a copy of the raw output tensor.

        Raises:
            ModelFormatError: ``tensor`` does not match the model's input shape or dtype.
        """
        return self.pipeline.invoke(tensor)

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
            threshold: Drop classes scoring below this probability (0..1).

        Returns:
            A :class:`Prediction` with the results and per-stage :class:`Timings`.

        Raises:
            ImageError: The image is unreadable or of the wrong kind (dtype, channels, size, layout).
            InvalidArgumentError: ``top_k`` < 1 or ``threshold`` outside 0..1.
        """
        _check_request(top_k, threshold)
        t0 = time.perf_counter()
        frame = to_frame(image, self.channels)
        return self.pipeline.run(frame, top_k, threshold, decode_s=time.perf_counter() - t0)

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
        self.pipeline.close()
        self._interpreter = None

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        what = self.identity.ref if self.identity is not None else str(self.model_path)
        return (
            f"Classifier({what!r}, input={self.input.dtype_name}{list(self.input.shape)}, "
            f"classes={self.num_classes}, backend={self.backend!r}, device={self.device!r})"
        )


def _check_request(top_k: int, threshold: float) -> None:
    """Refuse a top-k or threshold no result could satisfy (one message for the library and the CLI)."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise InvalidArgumentError(f"top_k must be >= 1 (an integer). Received: {top_k!r}")
    if not 0.0 <= threshold <= 1.0:
        raise InvalidArgumentError(f"threshold must be a probability in [0, 1]. Received: {threshold!r}")
