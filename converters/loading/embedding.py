"""Cut a Keras classifier at its feature vector: the embedding model ``edgeml convert --embedding`` writes.

The features are what the classifier's last ``Dense`` layer reads (EfficientNet-Lite: the global-average-pooled
1280 values), pooled when still spatial, then L2-normalised with ``tf.math.l2_normalize``, which the TFLite
converter lowers to one ``L2_NORMALIZATION`` op: an op the Edge TPU runs, whose int8 output TFLite fixes at
scale 1/128, zero point 0. (Keras' ``UnitNormalization`` lowers to SQUARE/SUM/RSQRT/MINIMUM/MUL instead, and SQUARE
does not map to the Edge TPU.)
"""

from __future__ import annotations

from typing import Any

from edgeml.errors import ModelCompatibilityError

__all__ = ["embedding_model", "feature_tensor"]


def feature_tensor(model: Any) -> Any:
    """Return the Keras tensor ``model``'s last ``Dense`` layer reads, or the output of a headless model.

    A model whose output is already a feature vector (``include_top=False`` backbones, rank 2 or spatial) is
    taken whole.

    Raises:
        ModelCompatibilityError: The model is not built from Keras layers (a SavedModel).
    """
    import keras

    layers = getattr(model, "layers", None)
    if not layers:
        raise ModelCompatibilityError(
            f"{getattr(model, 'name', 'model')!r} has no Keras layers to cut at; --embedding needs a .keras/.h5 "
            "model (or a pretrained backbone name), not a SavedModel.")
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        return model.outputs[0]
    return dense[-1].input


def embedding_model(model: Any) -> Any:
    """Return a ``keras.Model`` from ``model``'s input to its L2-normalised feature vector ``(N, D)``.

    Raises:
        ModelCompatibilityError: No feature vector can be found (see :func:`feature_tensor`).
    """
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="edgeml")
    class L2Normalize(keras.layers.Layer):  # tf.math.l2_normalize: one L2_NORMALIZATION op in TFLite
        def call(self, x: Any) -> Any:
            return tf.math.l2_normalize(x, axis=-1)

    features = feature_tensor(model)
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="edgeml_pool")(features)
    if len(features.shape) != 2:
        raise ModelCompatibilityError(
            f"{model.name!r}: the layer before its classifier gives shape {tuple(features.shape)}; an embedding "
            "needs a feature vector (N, D) or a feature map (N, H, W, D) to pool.")
    return keras.Model(model.inputs, L2Normalize(name="embedding")(features), name=f"{model.name}_embedding")
