"""What every image model runner shares: settings resolved, model opened, tensors chosen, input planned.

:class:`edgeml.Classifier` and :class:`edgeml.Embedder` differ only in how they read the output tensor (classes,
or a feature vector); the rest — one precedence chain for the settings, the one opener, the input planner of the
fast path, and the :class:`~edgeml.inference.pipeline.Pipeline` that composes them — is written once, here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import preprocess
from edgeml.errors import ModelFormatError
from edgeml.frame import Frame
from edgeml.image.load import ImageInput
from edgeml.inference.pipeline import Decoder, Pipeline
from edgeml.interpreter.open import ModelInput, as_model_file, open_model
from edgeml.model.metadata import ModelMetadata
from edgeml.preprocess import InputPlanner, InputQuantizer, Preprocessing, to_frame
from edgeml.settings import RunSettings, resolve_settings
from edgeml.store.identity import StoreIdentity, is_store_ref, resolve_ref
from edgeml.tensors import TensorSpec

__all__ = ["ImageModel"]


class ImageModel:
    """An opened model with one image input ``(1, H, W, 1|3)``: settings, interpreter, tensors, input planner.

    Subclasses choose the output (:meth:`_output`) and build the decoder, then call :meth:`_compose`.

    Args:
        model: A ``.tflite`` path, an :class:`edgeml.model.ModelFile` already read, or ``"store:NAME[@VERSION]"``
            (the model store's version; :attr:`identity` then says which).
        num_threads, preprocessing, board, device, fallback, backend, delegates, strict, store: As for
            :class:`edgeml.Classifier`.

    Attributes:
        identity: For a ``store:`` model, its :class:`~edgeml.store.identity.StoreIdentity` (name and integer
            version from the signed manifest: what every stream result reports as ``model``); else None.
    """

    kind = "image model"

    def __init__(
        self,
        model: ModelInput,
        *,
        num_threads: int | None = None,
        preprocessing: Preprocessing | Mapping[str, Any] | None = None,
        backend: str = "auto",
        delegates: list[Any] | None = None,
        device: str | None = None,
        fallback: str | None = None,
        board: str | Mapping[str, Any] | Any | None = None,
        strict: bool = False,
        store: str | os.PathLike[str] | None = None,
    ) -> None:
        self.identity: StoreIdentity | None = None
        if is_store_ref(model):
            model, self.identity = resolve_ref(str(model), store, device)
        asked: dict[str, Any] = dict(threads=num_threads, device=device, fallback=fallback,
                                     preprocessing=preprocessing, board=board)
        file = as_model_file(model)
        file.verify()  # the whole flatbuffer and its meaning, before any interpreter sees it (cached per file)
        if strict and file.metadata.problems:
            raise ModelFormatError(f"{file.name!r} has damaged metadata (strict=True): {file.metadata.problems[0]}. "
                                   "Re-run `edgeml convert` to rewrite it.")
        self._refuse(file.metadata, file.name)
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
        self.metadata: ModelMetadata = opened.model.metadata
        self.preprocessing: Preprocessing = settings.preprocessing
        inputs = opened.interpreter.get_input_details()
        if len(inputs) != 1:
            raise ModelFormatError(f"{self.model.name!r} has {len(inputs)} inputs; {self._article()} "
                                   "takes one image input (1, H, W, C).")
        self.input = TensorSpec.from_details(inputs[0])
        self.output = self._output([TensorSpec.from_details(d) for d in opened.interpreter.get_output_details()])
        self.height, self.width, self.channels = preprocess.input_size(self.input)

    def _refuse(self, metadata: ModelMetadata, name: str) -> None:
        """Raise :class:`ModelFormatError` when ``metadata`` says the model is of another kind (before opening)."""

    def _output(self, outputs: list[TensorSpec]) -> TensorSpec:
        """Return the output tensor this runner decodes (subclasses check its shape)."""
        raise NotImplementedError

    def _article(self) -> str:
        return f"an {self.kind}" if self.kind[0] in "aeiou" else f"a {self.kind}"

    def _compose(self, decoder: Decoder) -> None:
        quantizer = InputQuantizer.for_input(self.input, self.preprocessing, self.channels)
        self.pipeline = Pipeline(self._interpreter, self.input, self.output,
                                 InputPlanner((self.height, self.width, self.channels), self.preprocessing,
                                              quantizer), decoder)

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

    def preprocess(self, image: ImageInput | Frame) -> np.ndarray:
        """Return a new input tensor for ``image`` (path, PIL.Image, uint8 array or :class:`Frame`, any size)."""
        return self.pipeline.prepare(to_frame(image, self.channels))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model on a prepared input tensor and return a copy of the raw output tensor.

        Raises:
            ModelFormatError: ``tensor`` does not match the model's input shape or dtype.
        """
        return self.pipeline.invoke(tensor)

    @property
    def model_info(self) -> dict[str, Any]:
        """Which model this is, as every result says it: the store's ``{"name", "version"}``, or the file's stem and
        ``None`` for a plain file (the one answer for streams, the REST API, the CLI and the events)."""
        if self.identity is not None:
            return self.identity.to_dict()
        return {"name": Path(str(self.model_path)).stem, "version": None}

    def close(self) -> None:
        """Release the interpreter (and with it any delegate)."""
        self.pipeline.close()
        self._interpreter = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
