"""Load a TensorFlow SavedModel folder as a batch-1 model for conversion (see :mod:`edgeml_converters.loading`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import ModelCompatibilityError
from edgeml_converters.loading.model import Fold, LoadedModel, fold_values, static_shape

__all__ = ["load_saved_model"]


def load_saved_model(p: Path, input_size: tuple[int, int] | None = None) -> LoadedModel:
    """Load the ``serving_default`` signature of SavedModel folder ``p``.

    Raises:
        ModelCompatibilityError: No ``serving_default`` signature, several inputs, or not an image input.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(p))
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ModelCompatibilityError(f"{str(p)!r} has no 'serving_default' signature to convert.")
    specs = list(signature.structured_input_signature[1].values())
    if len(specs) != 1:
        raise ModelCompatibilityError(f"{str(p)!r} has {len(specs)} inputs; an image classifier has one.")
    shape = static_shape(tuple(specs[0].shape[1:]), input_size, p)
    input_name = next(iter(signature.structured_input_signature[1]))

    def call(x: Any) -> Any:
        out = signature(**{input_name: x})
        return next(iter(out.values()))

    def make_converter(fold: Fold | None = None) -> Any:
        def serve(x: Any) -> Any:
            if fold is not None:
                mean, std = fold_values(fold, shape[2])
                x = (x - mean.astype(np.float32)) / std.astype(np.float32)
                if fold.color_order == "bgr" and shape[2] == 3:
                    x = tf.reverse(x, axis=[-1])
            return call(x)

        # Re-export with a batch-1 signature so the .tflite input is static; variables freeze on the way.
        module = tf.Module()
        module.loaded = loaded
        module.serve = tf.function(serve, input_signature=[tf.TensorSpec((1, *shape), tf.float32, name="image")])
        tmp = tempfile.mkdtemp(prefix="edgeml-savedmodel-")
        tf.saved_model.save(module, tmp, signatures=module.serve.get_concrete_function())
        return tf.lite.TFLiteConverter.from_saved_model(tmp)

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.concatenate([call(tf.constant(batch[i:i + 64])).numpy() for i in range(0, len(batch), 64)])

    return LoadedModel(make_converter, shape, predict, "auto", p.name)
