"""One embedding model's learning on the device: add examples, learn a head, predict with a gate, export.

What the ``edgeml learn`` subcommands do, as a library::

    session = LearnSession("efficientnet_lite0_embedding_int8.tflite")        # store: $EDGEML_STORE or ~/.local/...
    session.add("my mug", ["mug1.jpg", "mug2.jpg"])                           # or add_source("camera", 20)
    session.export("out/")                                                    # → out/learned.tflite
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import LearnError, ModelFormatError
from edgeml.inference.embedder import EMBEDDING_HINT, Embedder
from edgeml.interpreter.open import ModelInput, as_model_file
from edgeml.learn.examples import ExampleStore
from edgeml.learn.export import export_head
from edgeml.learn.gather import embed_images, embed_source
from edgeml.learn.heads import Head, learn_head
from edgeml.model import ModelFile

__all__ = ["LearnSession", "classifier_head"]


class LearnSession:
    """The stored examples of one embedding model, and what can be learned from them.

    Args:
        model: The embedding model (``edgeml convert ... --embedding``).
        store: The store directory; None: :func:`edgeml.store.store_dir`.
        num_threads: Interpreter threads for embedding images.
        embedder: An :class:`Embedder` of ``model`` already open (None: opened on first use).

    Raises:
        LearnError: ``model`` is None (the message says how to make an embedding model).
        ModelFormatError: ``model`` is a classifier, not an embedding model.
    """

    def __init__(self, model: ModelInput | None, store: str | os.PathLike[str] | None = None,
                 num_threads: int | None = None, embedder: Embedder | None = None) -> None:
        if model is None:
            raise LearnError(f"Learning needs an embedding model: pass --model EMBEDDING.tflite. {EMBEDDING_HINT}")
        self.file = as_model_file(model)
        self._threads = num_threads
        self._embedder: Embedder | None = embedder
        dimension = self.file.metadata.info.get("embedding", {}).get("dimension")
        self.examples = ExampleStore(self.file, int(dimension or self.embedder.dimension), store)

    @property
    def embedder(self) -> Embedder:
        """The embedder, opened on first use (listing or forgetting needs no interpreter)."""
        if self._embedder is None:
            self._embedder = Embedder(self.file, num_threads=self._threads)
        return self._embedder

    def add(self, label: str, images: Sequence[str | os.PathLike[str]]) -> int:
        """Embed ``images`` (files or folders) and add them to ``label``; return the label's example count."""
        return self.add_vectors(label, np.stack([e.vector for e in embed_images(self.embedder, images)]))

    def add_source(self, label: str, source: str, frames: int) -> int:
        """Embed ``frames`` frames of ``source`` and add them to ``label``; return the label's example count."""
        vectors = [e.vector for e in embed_source(self.embedder, source, frames)]
        if not vectors:
            raise LearnError(f"{source!r} gave no frame to learn {label!r} from.")
        return self.add_vectors(label, np.stack(vectors))

    def add_vectors(self, label: str, vectors: np.ndarray) -> int:
        """Add embeddings ``(n, D)`` to ``label``; return its example count."""
        return self.examples.add(label, vectors)

    def head(self, method: str = "imprint", keep_classes: ModelInput | None = None) -> Head:
        """Learn a head from every stored label (and the classes of ``keep_classes``, a classifier to extend).

        Raises:
            LearnError: Nothing stored yet, or ``keep_classes``' last layer does not read this embedding.
        """
        examples = [(e.label, e.vectors) for e in self.examples.labels()]
        head = learn_head(examples, method)
        if keep_classes is None:
            return head
        old = classifier_head(as_model_file(keep_classes), self.examples.dimension)
        clash = sorted(set(old.labels) & set(head.labels))
        if clash:
            raise LearnError(f"{clash[0]!r} is already a class of the classifier being extended: forget it or "
                             "learn it under another name.")
        # Softmax ignores a shift common to all classes: put the new ones at the old classes' mean bias.
        bias = head.bias + (float(old.bias.mean()) if old.bias.size else 0.0)
        return Head(old.labels + head.labels, np.concatenate([old.weights, head.weights]),
                    np.concatenate([old.bias, bias]).astype(np.float32), head.method, head.held_out_accuracy,
                    head.held_out)

    def export(self, output_dir: str | os.PathLike[str], *, method: str = "imprint", name: str = "learned",
               keep_classes: ModelInput | None = None) -> tuple[Path, Head]:
        """Write ``output_dir/<name>.tflite``: the embedding model with the learned head; return it and the head."""
        head = self.head(method, keep_classes)
        calibration = np.concatenate([e.vectors for e in self.examples.labels()])
        data = export_head(self.file, head, calibration, name=name)
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.tflite"
        path.write_bytes(data)
        return path, head

    def predict(self, images: Sequence[str | os.PathLike[str]] = (), source: str | None = None, frames: int = 0,
                *, method: str = "imprint", min_score: float = 0.0, consensus: int = 1) -> Iterator[dict[str, Any]]:
        """Answer each image (or ``frames`` frames of ``source``) with the learned head, through the gate: one
        ``{"id", "label", "best", "score"}`` per input (``label`` is ``"unknown"`` where the gate says so)."""
        from edgeml.learn.gate import Gate
        from edgeml.postprocess.classification import Classification

        head = self.head(method)
        gate = Gate(min_score, consensus)
        items = embed_source(self.embedder, source, frames) if source else embed_images(self.embedder, images)
        for item in items:
            scores = head.scores(item.vector)
            best = int(scores.argmax())
            answer = gate.update([Classification(best, head.labels[best], float(scores[best]))])
            yield {"id": item.id, "label": answer, "best": head.labels[best], "score": float(scores[best])}

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.close()


def classifier_head(model: ModelFile, dimension: int) -> Head:
    """Return the last FULLY_CONNECTED layer of classifier ``model`` as a float :class:`Head` (dequantized).

    Raises:
        LearnError: The classifier's last layer does not read a normalised embedding of ``dimension`` values,
            or it has no labels.
    """
    main = model.graph.main
    fcs = [op for op in main.operators if op.name == "FULLY_CONNECTED"]
    producer = {t: op for op in main.operators for t in op.outputs}
    fc = fcs[-1] if fcs else None
    source = producer.get(fc.inputs[0]) if fc is not None else None
    if fc is None or source is None or source.name != "L2_NORMALIZATION" or len(fc.inputs) < 2:
        raise LearnError(f"{model.name!r}: its last layer does not read a normalised embedding (FULLY_CONNECTED "
                         "after L2_NORMALIZATION), so its classes cannot be kept. Extend a model written by "
                         "`edgeml learn export`, or learn every class anew.")
    tensors = main.tensors
    x, w = tensors[fc.inputs[0]], tensors[fc.inputs[1]]
    weights = model.graph.constant(w)
    if weights is None or w.quantization is None or x.quantization is None or weights.shape[1] != dimension:
        raise LearnError(f"{model.name!r}: its last layer has no int8 weights over {dimension} values; "
                         "it reads another embedding.")
    real_w = weights.astype(np.float32) * np.float32(w.quantization.scale[0])
    bias = np.zeros(weights.shape[0], np.float32)
    if len(fc.inputs) > 2 and fc.inputs[2] >= 0:
        raw = model.graph.constant(tensors[fc.inputs[2]])
        if raw is not None:
            bias = raw.astype(np.float32) * np.float32(x.quantization.scale[0] * w.quantization.scale[0])
    labels = model.metadata.labels
    if labels is None or len(labels) != weights.shape[0]:
        raise ModelFormatError(f"{model.name!r} carries no labels for its {weights.shape[0]} classes; export it "
                               "with labels to extend it.")
    return Head(tuple(labels), real_w, bias, "kept")
