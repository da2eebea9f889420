"""Load a Keras model (``.keras``, legacy ``.h5`` or in memory) as a batch-1 model for conversion.

Preprocessing can be *folded* into the graph (:func:`fold_layer`): the converted model then takes raw 0..255 pixels
in RGB order, the normalisation ``(pixel - mean) / std`` (and a BGR channel swap) running as its first op.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import ConversionError, ModelCompatibilityError
from edgeml_converters.loading.model import Fold, LoadedModel, fold_values, static_shape

__all__ = ["fold_layer", "from_keras", "load_custom_objects", "load_keras_file"]


_UNKNOWN_OBJECT = re.compile(r"(?:Could not locate (?:class|function)|Unknown (?:layer|object|class)[^:']*:?)\s*"
                             r"['\"]?([A-Za-z_][\w.>]*)")


def load_keras_file(p: Path, input_size: tuple[int, int] | None = None,
                    custom_objects: dict[str, Any] | None = None, *, embedding: bool = False) -> LoadedModel:
    """Load a ``.keras`` or ``.h5`` file.

    Raises:
        ConversionError: Keras cannot load it (names an unknown custom layer and how to register it).
    """
    import keras

    try:
        loaded = keras.models.load_model(p, compile=False, custom_objects=custom_objects)
    except Exception as exc:  # Keras raises many types for bad files; all mean the same thing here
        raise _load_error(p, exc) from exc
    return from_keras(loaded, p.stem, input_size, p, embedding=embedding)


def _load_error(p: Path, exc: Exception) -> ConversionError:
    text = str(exc)
    match = _UNKNOWN_OBJECT.search(text)
    if match:
        name = match.group(1).split(">")[-1]
        return ConversionError(
            f"Keras cannot load {str(p)!r}: it uses the custom layer or function {name!r}, which is not "
            f"registered. Pass the code that defines it: `edgeml convert --custom-objects my_layers.py` (a module "
            f"defining {name}, or a CUSTOM_OBJECTS dict), or in Python convert(..., custom_objects={{{name!r}: "
            f"{name}}}); or decorate the class with @keras.saving.register_keras_serializable()."
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return ConversionError(f"Keras cannot load {str(p)!r}: {first}. Pass a .keras or .h5 model file.")


def load_custom_objects(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Import a Python file and return its ``CUSTOM_OBJECTS`` dict, else every class/function it defines.

    Raises:
        ConversionError: The file is missing or fails to import.
    """
    p = Path(path)
    spec = importlib.util.spec_from_file_location(f"edgeml_custom_objects_{p.stem}", p)
    if not p.is_file() or spec is None or spec.loader is None:
        raise ConversionError(f"Custom objects file not found: {str(p)!r}. Pass a .py file defining the layers.")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # user code: any failure is reported the same way
        raise ConversionError(f"Importing custom objects from {str(p)!r} failed: {exc!r}.") from exc
    explicit = getattr(module, "CUSTOM_OBJECTS", None)
    if isinstance(explicit, dict):
        return dict(explicit)
    return {name: obj for name, obj in vars(module).items()
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__}


def _activation_of(model: Any) -> str:
    import keras

    last = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(last, keras.layers.Softmax):
        return "softmax"
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", "")
    if name == "softmax":
        return "softmax"
    if name == "linear":
        return "logits"
    return "auto"


def from_keras(model: Any, name: str, input_size: tuple[int, int] | None, where: Any = None, *,
               embedding: bool = False) -> LoadedModel:
    """Wrap a ``keras.Model`` for conversion; with ``embedding``, cut at its L2-normalised feature vector."""
    import keras
    import tensorflow as tf

    if embedding:
        from edgeml_converters.loading.embedding import embedding_model

        model = embedding_model(model)
        name = f"{name}_embedding"

    if len(model.inputs) != 1:
        raise ModelCompatibilityError(f"{str(where or name)!r} has {len(model.inputs)} inputs; an image "
                                      "classifier has one.")
    shape = static_shape(tuple(model.inputs[0].shape[1:]), input_size, where or name)

    def make_converter(fold: Fold | None = None) -> Any:
        # Re-wrapping with batch_size=1 gives the converter a static (1, H, W, C) signature; converting a
        # tf.function over the model instead leaves READ_VARIABLE ops that break calibration.
        image = keras.Input(shape, batch_size=1, name="image")
        x = fold_layer(fold, shape[2])(image) if fold is not None else image
        return tf.lite.TFLiteConverter.from_keras_model(keras.Model(image, model(x), name=f"{name}_batch1"))

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(batch, verbose=0, batch_size=64))

    if embedding:
        return LoadedModel(make_converter, shape, predict, "none", name, task="image_embedding")
    return LoadedModel(make_converter, shape, predict, _activation_of(model), name)


def fold_layer(fold: Fold, channels: int) -> Any:
    """Return a Keras layer computing ``(pixel - mean) / std`` (then RGB→BGR when asked) on raw pixels.

    A plain ``Rescaling`` (MUL, ADD) for RGB; a 1×1 ``Conv2D`` whose kernel is the scaled channel permutation when
    the model wants BGR (one CONV_2D, which int8 and the Edge TPU run natively).
    """
    from keras import initializers, layers

    mean, std = fold_values(fold, channels)
    if fold.color_order == "bgr" and channels == 3:
        kernel = np.zeros((1, 1, 3, 3))
        for out in range(3):
            kernel[0, 0, 2 - out, out] = 1.0 / std[out]
        return layers.Conv2D(3, 1, name="edgeml_normalize_bgr", kernel_initializer=initializers.Constant(kernel),
                             bias_initializer=initializers.Constant(-mean / std))
    return layers.Rescaling(scale=(1.0 / std).astype(np.float32), offset=(-mean / std).astype(np.float32),
                            name="edgeml_normalize")
