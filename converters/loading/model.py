"""What every loader returns: a model ready for the TFLite converter, and the preprocessing folded into it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import ConversionError, ModelCompatibilityError
from edgeml.preprocess.quantize import per_channel

__all__ = ["Fold", "LoadedModel", "fold_values", "static_shape"]


@dataclass(frozen=True)
class Fold:
    """Preprocessing to fold into the graph: ``(pixel - mean) / std`` per channel, then an optional BGR swap."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    color_order: str = "rgb"


@dataclass
class LoadedModel:
    """A model ready for the TFLite converter.

    Attributes:
        make_converter: ``make_converter(fold: Fold | None)`` returns a ``tf.lite.TFLiteConverter`` for the model
            with a static ``(1, H, W, C)`` float input (raw pixels when ``fold`` is given).
        input_shape: ``(H, W, C)``.
        predict: Calls the model (unfolded) on a float32 ``(N, H, W, C)`` batch; returns numpy ``(N, classes)``.
        output_activation: ``"softmax"``, ``"logits"`` or ``"auto"`` when it cannot be told (``"none"`` for
            an embedding).
        name: A file-name stem for the outputs.
        task: ``"image_classification"``, or ``"image_embedding"`` for a model cut at its feature vector.
    """

    make_converter: Any
    input_shape: tuple[int, int, int]
    predict: Any
    output_activation: str
    name: str = "model"
    task: str = "image_classification"


def fold_values(fold: Fold, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``fold``'s mean and std as float64 ``(channels,)`` each.

    Raises:
        ConversionError: ``mean`` or ``std`` has neither 1 nor ``channels`` values (e.g. 2 for an RGB model).
    """
    try:
        return per_channel(fold.mean, channels), per_channel(fold.std, channels)
    except ValueError as exc:
        raise ConversionError(
            f"--mean/--std need 1 or {channels} values for this {channels}-channel model. Received: "
            f"mean={list(fold.mean)}, std={list(fold.std)}. Pass one value for all channels or one per channel."
        ) from exc


def static_shape(shape: Sequence[Any], input_size: tuple[int, int] | None, where: Any) -> tuple[int, int, int]:
    """Return ``(H, W, C)`` with unknown H/W taken from ``input_size``.

    Raises:
        ModelCompatibilityError: Not an image input, or unknown H/W without ``input_size``.
    """
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise ModelCompatibilityError(
            f"{str(where)!r} input must be an image (H, W, 1 or 3). Received: {tuple(shape)}. Convert an image "
            "classifier with one (H, W, C) input."
        )
    if input_size is not None:
        h, w = input_size
        if (shape[0] not in (None, h)) or (shape[1] not in (None, w)):
            raise ModelCompatibilityError(f"--input-size {h}x{w} does not match {str(where)!r}'s fixed input "
                                          f"{tuple(shape)}. Omit --input-size or pass {shape[0]}x{shape[1]}.")
        return int(h), int(w), int(shape[2])
    if shape[0] is None or shape[1] is None:
        raise ModelCompatibilityError(
            f"{str(where)!r} has an input of unknown size {tuple(shape)}; TFLite needs a static shape. Pass "
            "--input-size HxW (e.g. --input-size 224x224), the size the model was trained at."
        )
    return int(shape[0]), int(shape[1]), int(shape[2])
