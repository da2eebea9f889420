"""Top-1 agreement of a converted model with its float original: the one figure the converter, report and train quote.

Both models see the same images: uint8 pixels already resized for the model (:func:`.calibration.pixels_for`),
normalised for the float model and copied in as the converted model's input tensor by the runtime.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgeml.preprocess import Preprocessing
from edgeml_converters.quantize.calibration import in_color_order, normalize

__all__ = ["float_top1", "top1_agreement"]


def float_top1(predict: Callable[[np.ndarray], np.ndarray], pixels: np.ndarray, prep: Preprocessing,
               color_order: str = "rgb") -> np.ndarray:
    """Return the float model's top-1 class of each image, int64 ``(N,)``.

    Args:
        predict: The float model on a float32 ``(N, H, W, C)`` batch (e.g. :attr:`LoadedModel.predict`), returning
            scores ``(N, classes)``.
        pixels: uint8 ``(N, H, W, C)`` RGB images at the model's input size.
        prep: The model's normalisation; ``color_order``: channel order it was trained with.
    """
    scores = predict(normalize(in_color_order(pixels, color_order), prep))
    return np.argmax(np.asarray(scores), axis=-1).astype(np.int64)


def top1_agreement(top: np.ndarray, float_top: np.ndarray) -> float:
    """Return the fraction of images whose top-1 class ``top`` equals the float model's ``float_top``."""
    return float(np.mean(np.asarray(top) == np.asarray(float_top)))
