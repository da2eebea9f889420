"""Load any supported model for conversion: a ``.keras``/``.h5`` file, a SavedModel folder, a ``keras.Model``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeml.errors import ModelCompatibilityError, ModelNotFoundError
from edgeml_converters.loading.keras import from_keras, load_keras_file
from edgeml_converters.loading.model import LoadedModel
from edgeml_converters.loading.savedmodel import load_saved_model

__all__ = ["load"]


def load(model: Any, *, input_size: tuple[int, int] | None = None,
         custom_objects: dict[str, Any] | None = None, embedding: bool = False) -> LoadedModel:
    """Load ``model`` with its batch pinned to 1.

    Args:
        model: A ``.keras``/``.h5`` path, a SavedModel folder, or an already built ``keras.Model`` (e.g. a
            pretrained backbone from :mod:`edgeml_converters.backbones`, or a name it resolves).
        input_size: ``(H, W)`` for a model whose input size is not fixed (``(None, None, C)``).
        custom_objects: Classes/functions a Keras file needs to load (custom layers).
        embedding: Cut the model at its feature vector, L2-normalised (:mod:`.embedding`).

    Raises:
        ModelNotFoundError: ``model`` does not exist (and no pretrained name matches).
        ModelCompatibilityError: a .tflite (nothing to quantize from), or not an image model.
        ConversionError: Keras/TensorFlow cannot load it (names an unknown custom layer and how to register it).
    """
    import keras

    if isinstance(model, keras.Model):
        return from_keras(model, model.name or "model", input_size, embedding=embedding)
    p = Path(model)
    if not p.exists():
        raise ModelNotFoundError(f"Model not found: {str(p)!r}. Pass a .keras or .h5 file, a SavedModel folder, or "
                                 "(on the command line) a pretrained backbone name such as efficientnet-lite0.")
    if p.is_file():
        _tflite_hint(p)
    if p.is_dir():
        if not (p / "saved_model.pb").is_file():
            raise ModelCompatibilityError(f"{str(p)!r} is a folder without saved_model.pb; not a SavedModel.")
        if embedding:
            raise ModelCompatibilityError(f"{str(p)!r} is a SavedModel: --embedding cuts Keras layers, so pass "
                                          "the .keras or .h5 model it was saved from.")
        return load_saved_model(p, input_size)
    return load_keras_file(p, input_size, custom_objects, embedding=embedding)


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
