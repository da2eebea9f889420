"""Load a Keras model (``.keras``, legacy ``.h5``, in-memory) or SavedModel as a batch-1 model for conversion.

Preprocessing can be *folded* into the graph: the converted model then takes raw 0..255 pixels in RGB order, the
normalisation ``(pixel - mean) / std`` (and a BGR channel swap) running as its first op, so a calibrated int8
model's uint8 input has scale 1, zero point 0 exactly and the runtime copies camera bytes in.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import ConversionError, ModelCompatibilityError, ModelNotFoundError
from edgeml.preprocess.quantize import per_channel

__all__ = ["Fold", "LoadedModel", "fold_values", "load", "load_custom_objects"]


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
        output_activation: ``"softmax"``, ``"logits"`` or ``"auto"`` when it cannot be told.
        name: A file-name stem for the outputs.
    """

    make_converter: Any
    input_shape: tuple[int, int, int]
    predict: Any
    output_activation: str
    name: str = "model"


def load(model: Any, *, input_size: tuple[int, int] | None = None,
         custom_objects: dict[str, Any] | None = None) -> LoadedModel:
    """Load ``model`` with its batch pinned to 1.

    Args:
        model: A ``.keras``/``.h5`` path, a SavedModel folder, or an already built ``keras.Model`` (e.g. a
            pretrained backbone from :mod:`edgeml_converters.backbones`, or a name it resolves).
        input_size: ``(H, W)`` for a model whose input size is not fixed (``(None, None, C)``).
        custom_objects: Classes/functions a Keras file needs to load (custom layers).

    Raises:
        ModelNotFoundError: ``model`` does not exist (and no pretrained name matches).
        ModelCompatibilityError: a .tflite (nothing to quantize from), or not an image model.
        ConversionError: Keras/TensorFlow cannot load it (names an unknown custom layer and how to register it).
    """
    import keras

    if isinstance(model, keras.Model):
        return _from_keras(model, model.name or "model", input_size)
    p = Path(model)
    if not p.exists():
        raise ModelNotFoundError(f"Model not found: {str(p)!r}. Pass a .keras or .h5 file, a SavedModel folder, or "
                                 "(on the command line) a pretrained backbone name such as efficientnet-lite0.")
    if p.is_file():
        _tflite_hint(p)
    if p.is_dir():
        if not (p / "saved_model.pb").is_file():
            raise ModelCompatibilityError(f"{str(p)!r} is a folder without saved_model.pb; not a SavedModel.")
        from edgeml_converters.savedmodel_io import load_saved_model

        return load_saved_model(p, input_size)
    try:
        loaded = keras.models.load_model(p, compile=False, custom_objects=custom_objects)
    except Exception as exc:  # Keras raises many types for bad files; all mean the same thing here
        raise _load_error(p, exc) from exc
    return _from_keras(loaded, p.stem, input_size, p)


_UNKNOWN_OBJECT = re.compile(r"(?:Could not locate (?:class|function)|Unknown (?:layer|object|class)[^:']*:?)\s*"
                             r"['\"]?([A-Za-z_][\w.>]*)")


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


def _tflite_hint(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(8)
    if head[4:8] == b"TFL3":
        from edgeml.interpreter import open_interpreter
        from edgeml.tensors import TensorSpec

        interpreter, _ = open_interpreter(path)
        spec = TensorSpec.from_details(interpreter.get_input_details()[0])
        kind = f"{spec.dtype_name} input" + (" (already quantized)" if spec.quantized else ", float")
        raise ModelCompatibilityError(
            f"{str(path)!r} is already a TFLite model ({kind}); edgeml convert quantizes Keras models "
            "(.keras, .h5, SavedModel). Run it on the Keras model this file was made from."
        )


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


def _from_keras(model: Any, name: str, input_size: tuple[int, int] | None, where: Any = None) -> LoadedModel:
    import keras
    import tensorflow as tf

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

    return LoadedModel(make_converter, shape, predict, _activation_of(model), name)


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
