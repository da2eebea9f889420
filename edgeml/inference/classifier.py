"""The image classifier: an :class:`~edgeml.inference.base.ImageModel` whose output decodes to the top classes."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import edgeml.postprocess.classification as postprocess
from edgeml.errors import InvalidArgumentError, LabelsError, ModelFormatError
from edgeml.frame import Frame
from edgeml.image.load import ImageInput
from edgeml.inference.base import ImageModel
from edgeml.inference.prediction import Prediction
from edgeml.interpreter.open import ModelInput
from edgeml.labels import read_labels
from edgeml.model.metadata import ModelMetadata
from edgeml.postprocess.classification import Classification
from edgeml.preprocess import Preprocessing, to_frame
from edgeml.tensors import TensorSpec

__all__ = ["Classifier"]

ACTIVATIONS = ("softmax", "logits", "auto")


class Classifier(ImageModel):
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

    kind = "image classifier"

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
        if output_activation not in (None, *ACTIVATIONS):
            raise InvalidArgumentError(f"output_activation must be 'softmax', 'logits' or 'auto'. "
                                       f"Received: {output_activation!r}")
        super().__init__(model, num_threads=num_threads, preprocessing=preprocessing, backend=backend,
                         delegates=delegates, device=device, fallback=fallback, board=board, strict=strict,
                         store=store)
        self.num_classes = int(np.prod(self.output.shape))
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
        self._compose(postprocess.OutputDecoder(self.output, self.labels, self.output_activation,
                                                postprocess.label_mask(self.labels, self.num_classes, allow, deny)))

    def _refuse(self, metadata: ModelMetadata, name: str) -> None:
        if metadata.info.get("task") == "image_embedding":
            raise ModelFormatError(f"{name!r} is an embedding model (its output is a feature vector, not classes): "
                                   "use edgeml.Embedder, or teach it classes with `edgeml learn add` and "
                                   "`edgeml learn export`.")

    def _output(self, outputs: list[TensorSpec]) -> TensorSpec:
        if len(outputs) != 1:
            raise ModelFormatError(
                f"{self.model.name!r} is not an image classifier: it has {len(outputs)} outputs (expected 1). "
                "Detection or multi-head models are not supported by Classifier."
            )
        spec_out = outputs[0]
        if len(spec_out.shape) > 2 or (len(spec_out.shape) == 2 and spec_out.shape[0] != 1):
            raise ModelFormatError(
                f"{self.model.name!r} output must be (1, N) class scores. Received: shape={spec_out.shape}."
            )
        return spec_out

    def reopen(self, model: ModelInput) -> Classifier:
        """Return a new Classifier for ``model`` with this one's settings (threads, device, board, preprocessing,
        allow/deny, store): what a stream builds beside the running one before a hot swap."""
        return Classifier(model, **self._options)

    def decode(self, output: np.ndarray, top_k: int = 5, threshold: float = 0.0) -> list[Classification]:
        """Return the top classes of a raw output tensor from :meth:`invoke` (labels, allow/deny lists applied).

        ``preprocess`` → ``invoke`` → ``decode`` is :meth:`classify` in steps.
        """
        postprocess.check_request(top_k, threshold)
        return self.pipeline.decoder(output, top_k, threshold)

    def scores(self, image: ImageInput | Frame) -> np.ndarray:
        """Return every class's probability, float32 ``(num_classes,)``."""
        return postprocess.to_scores(self.invoke(self.preprocess(image)), self.output, self.output_activation)

    def run(self, image: ImageInput | Frame, top_k: int = 5, threshold: float = 0.0) -> Prediction[Classification]:
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
        postprocess.check_request(top_k, threshold)
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

    def __repr__(self) -> str:
        return (
            f"Classifier({str(self.model_path)!r}, input={self.input.dtype_name}{list(self.input.shape)}, "
            f"classes={self.num_classes}, backend={self.backend!r}, device={self.device!r})"
        )
