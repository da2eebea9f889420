"""Load a Keras model or SavedModel and expose it as a batch-1 TensorFlow function for conversion."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeml.errors import ConversionError, ModelCompatibilityError, ModelNotFoundError


@dataclass
class LoadedModel:
    """A model ready for the TFLite converter.

    Attributes:
        make_converter: Returns a ``tf.lite.TFLiteConverter`` for the model with a static ``(1, H, W, C)`` input.
        input_shape: ``(H, W, C)``.
        predict: Calls the model on a float32 ``(N, H, W, C)`` batch and returns numpy ``(N, classes)``.
        output_activation: ``"softmax"``, ``"logits"`` or ``"auto"`` when it cannot be told.
    """

    make_converter: Any
    input_shape: tuple[int, int, int]
    predict: Any
    output_activation: str


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


def load(path: str | os.PathLike[str]) -> LoadedModel:
    """Load ``path`` (``.keras``, ``.h5`` or a SavedModel folder) with its batch pinned to 1.

    Raises:
        ModelNotFoundError: ``path`` does not exist.
        ModelCompatibilityError: ``path`` is a .tflite (nothing to quantize from), or not an image model.
        ConversionError: Keras/TensorFlow cannot load it.
    """
    import tensorflow as tf

    p = Path(path)
    if not p.exists():
        raise ModelNotFoundError(f"Model not found: {str(p)!r}. Pass a .keras or .h5 file, or a SavedModel folder.")
    if p.is_file():
        _tflite_hint(p)
    if p.is_dir():
        if not (p / "saved_model.pb").is_file():
            raise ModelCompatibilityError(f"{str(p)!r} is a folder without saved_model.pb; not a SavedModel.")
        return _load_saved_model(p, tf)
    import keras

    try:
        model = keras.models.load_model(p, compile=False)
    except Exception as exc:  # Keras raises many types for bad files; all mean the same thing here
        raise ConversionError(f"Keras cannot load {str(p)!r}: {exc}. Pass a .keras or .h5 model file.") from exc
    shape = tuple(model.inputs[0].shape[1:])
    _check_image_shape(shape, p)

    def make_converter() -> Any:
        # Re-wrapping with batch_size=1 gives the converter a static (1, H, W, C) signature; converting a
        # tf.function over the model instead leaves READ_VARIABLE ops that break calibration.
        image = keras.Input(shape, batch_size=1, name="image")
        return tf.lite.TFLiteConverter.from_keras_model(keras.Model(image, model(image)))

    return LoadedModel(make_converter, shape, lambda batch: model.predict(batch, verbose=0), _activation_of(model))


def _load_saved_model(p: Path, tf: Any) -> LoadedModel:
    loaded = tf.saved_model.load(str(p))
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ModelCompatibilityError(f"{str(p)!r} has no 'serving_default' signature to convert.")
    specs = list(signature.structured_input_signature[1].values())
    if len(specs) != 1:
        raise ModelCompatibilityError(f"{str(p)!r} has {len(specs)} inputs; an image classifier has one.")
    shape = tuple(specs[0].shape[1:])
    _check_image_shape(shape, p)
    input_name = next(iter(signature.structured_input_signature[1]))

    def call(x: Any) -> Any:
        out = signature(**{input_name: x})
        return next(iter(out.values()))

    def make_converter() -> Any:
        # Re-export with a batch-1 signature so the .tflite input is static; variables freeze on the way.
        import tempfile

        module = tf.Module()
        module.loaded = loaded
        module.serve = tf.function(call, input_signature=[tf.TensorSpec((1, *shape), tf.float32, name="image")])
        tmp = tempfile.mkdtemp(prefix="edgeml-savedmodel-")
        tf.saved_model.save(module, tmp, signatures=module.serve.get_concrete_function())
        return tf.lite.TFLiteConverter.from_saved_model(tmp)

    return LoadedModel(make_converter, shape, lambda batch: call(tf.constant(batch)).numpy(), "auto")


def _check_image_shape(shape: tuple[Any, ...], p: Path) -> None:
    if len(shape) != 3 or any(d is None for d in shape) or shape[2] not in (1, 3):
        raise ModelCompatibilityError(
            f"{str(p)!r} input must be an image of known size (H, W, 1 or 3). Received: {shape}. "
            "Rebuild the model with a fixed input size, e.g. keras.Input((224, 224, 3))."
        )
