"""The image embedder: an :class:`~edgeml.inference.base.ImageModel` whose output is a feature vector.

It runs on the Classifier's fast path (the same :class:`~edgeml.inference.pipeline.Pipeline`, planner and
timings) and works with :func:`edgeml.stream` too: each stream result then holds one
:class:`~edgeml.postprocess.embedding.Embedding`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from edgeml.errors import ModelFormatError
from edgeml.frame import Frame
from edgeml.image.load import ImageInput
from edgeml.inference.base import ImageModel
from edgeml.inference.prediction import Prediction
from edgeml.interpreter.open import ModelInput
from edgeml.model.metadata import ModelMetadata
from edgeml.postprocess.embedding import Embedding, EmbeddingDecoder
from edgeml.preprocess import Preprocessing, to_frame
from edgeml.tensors import TensorSpec

__all__ = ["EMBEDDING_HINT", "Embedder"]

EMBEDDING_HINT = ("Make one on the host with: edgeml convert efficientnet-lite0 --embedding --output out/ "
                  "(or edgeml convert MODEL.keras --embedding --calibration DIR --output out/)")


class Embedder(ImageModel):
    """Compute image embeddings (feature vectors) with a TFLite model.

    Example::

        emb = edgeml.Embedder("efficientnet_lite0_embedding_int8.tflite")
        a, b = emb.embed("mug.jpg"), emb.embed("cup.jpg")        # float32 (1280,), unit length
        edgeml.cosine_similarity(a, b)                             # 0.83
        e = emb.embedding(frame)                                   # Embedding: .vector, .raw (int8), .scale
        for r in edgeml.stream("picamera2", emb, max_frames=20):   # r.results[0] is an Embedding
            ...

    Args:
        model: An embedding model (``edgeml convert ... --embedding``): one image input and a ``(1, D)``
            output; or any model with such an output that carries no metadata saying it is a classifier.
        output: Which output to read when the model has several (its index in the output details); None: the
            only one.
        num_threads: As for :class:`edgeml.Classifier`.
        preprocessing: As for :class:`edgeml.Classifier`.
        backend: As for :class:`edgeml.Classifier`.
        delegates: As for :class:`edgeml.Classifier`.
        device: As for :class:`edgeml.Classifier`.
        fallback: As for :class:`edgeml.Classifier`.
        board: As for :class:`edgeml.Classifier`.

    Raises:
        ModelNotFoundError, ModelFormatError: Missing, not a TFLite model, or no ``(1, D)`` output to read.
        InterpreterUnavailableError, EdgeTpuError, InvalidArgumentError: As for :class:`edgeml.Classifier`.
    """

    kind = "embedding model"

    def __init__(
        self,
        model: ModelInput,
        *,
        output: int | None = None,
        num_threads: int | None = None,
        preprocessing: Preprocessing | Mapping[str, Any] | None = None,
        backend: str = "auto",
        delegates: list[Any] | None = None,
        device: str | None = None,
        fallback: str | None = None,
        board: str | Mapping[str, Any] | Any | None = None,
    ) -> None:
        self._output_index = output
        super().__init__(model, num_threads=num_threads, preprocessing=preprocessing, backend=backend,
                         delegates=delegates, device=device, fallback=fallback, board=board)
        self.dimension = int(np.prod(self.output.shape))
        recorded = self.metadata.info.get("embedding") or {}
        self.normalized: bool = bool(recorded.get("normalized", False))
        self._compose(EmbeddingDecoder(self.output))

    def _refuse(self, metadata: ModelMetadata, name: str) -> None:
        if metadata.info.get("task", "image_embedding") != "image_embedding" and self._output_index is None:
            raise ModelFormatError(f"{name!r} is an image classifier (its output is class scores), not an "
                                   f"embedding model. {EMBEDDING_HINT}")

    def _output(self, outputs: list[TensorSpec]) -> TensorSpec:
        if self._output_index is None and len(outputs) != 1:
            raise ModelFormatError(f"{self.model.name!r} has {len(outputs)} outputs: pass output=INDEX (0.."
                                   f"{len(outputs) - 1}) to say which one is the embedding.")
        index = self._output_index or 0
        if not 0 <= index < len(outputs):
            raise ModelFormatError(f"{self.model.name!r} has no output {index}; it has {len(outputs)}.")
        spec = outputs[index]
        if len(spec.shape) != 2 or spec.shape[0] != 1:
            raise ModelFormatError(f"{self.model.name!r} output must be a (1, D) feature vector. Received: "
                                   f"shape={spec.shape}. {EMBEDDING_HINT}")
        return spec

    def run(self, image: ImageInput | Frame) -> Prediction[Embedding]:
        """Embed ``image`` and time each stage; ``prediction.results[0]`` is the :class:`Embedding`.

        Args:
            image: A :class:`~edgeml.frame.Frame` in any format, a path, a ``PIL.Image`` or a uint8 array
                ``(H, W)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, any size.

        Raises:
            ImageError: The image is unreadable or of the wrong kind.
        """
        t0 = time.perf_counter()
        frame = to_frame(image, self.channels)
        return self.pipeline.run(frame, 1, 0.0, decode_s=time.perf_counter() - t0)

    def embedding(self, image: ImageInput | Frame) -> Embedding:
        """Return ``image``'s :class:`Embedding`: the float32 vector and the raw (int8) values with their scale."""
        return cast(Embedding, self.run(image).results[0])

    def embed(self, image: ImageInput | Frame) -> np.ndarray:
        """Return ``image``'s embedding, dequantized: float32 ``(D,)`` (unit length for a normalised model)."""
        return self.embedding(image).vector

    def decode(self, output: np.ndarray) -> Embedding:
        """Return the :class:`Embedding` of a raw output tensor from :meth:`invoke`."""
        return cast(Embedding, self.pipeline.decoder(output, 1, 0.0)[0])

    def __repr__(self) -> str:
        return (f"Embedder({str(self.model_path)!r}, input={self.input.dtype_name}{list(self.input.shape)}, "
                f"dimension={self.dimension}, backend={self.backend!r}, device={self.device!r})")
