"""Build the tiny .tflite files the Edge TPU checker's unit tests read (needs TensorFlow; run on the host).

    python tests/data/build_edgetpu_models.py        # rewrites tests/data/*.tflite

Each model is a real Keras model converted by TensorFlow's TFLite converter, int8 ones calibrated on real photos
(scikit-image's CC0 images, random 32x32 crops), so the op codes and op versions are what TensorFlow really emits:

- ``tiny_int8.tflite``: conv → depthwise conv → ReLU6 → add → pool → dense → softmax: Edge-TPU-friendly.
- ``grouped_conv_int8.tflite``: ``Conv2D(groups=2)``: CONV_2D version 6, which edgetpu_compiler 16 rejects.
- ``upsample_int8.tflite``: ``UpSampling2D`` nearest (Keras 3 lowers it to TILE/reshape ops).
- ``tiny_float32.tflite``: the tiny model left float: nothing maps to the Edge TPU.
- ``dynamic_int8.tflite``: like tiny_int8 but with a dynamic batch dimension (shape signature -1).
- ``tiny_int8_edgetpu.tflite``: tiny_int8 shaped like an edgetpu_compiler output (see :func:`edgetpu_structured`).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _photos(n: int = 64, size: int = 32) -> np.ndarray:
    from skimage import data

    rng = np.random.default_rng(0)
    images = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    crops = []
    for i in range(n):
        img = images[i % len(images)]
        y, x = rng.integers(0, img.shape[0] - size), rng.integers(0, img.shape[1] - size)
        crops.append(img[y:y + size, x:x + size, :3])
    return np.stack(crops).astype(np.float32)


def _tiny(keras, input_shape=(32, 32, 3), batch=None):
    inp = keras.Input(input_shape, batch_size=batch)
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu6")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    y = keras.layers.ReLU(6.0)(y)
    x = keras.layers.Add()([x, y])
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out)


def _convert(tf, model, int8: bool, dynamic: bool = False) -> bytes:
    channels = model.input_shape[-1]
    import keras

    # Re-wrap with the batch size wanted (1: static; None: dynamic); a tf.function over the model would leave
    # READ_VARIABLE ops that break calibration.
    image = keras.Input(model.input_shape[1:], batch_size=None if dynamic else 1)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(image, model(image)))
    if int8:
        photos = _photos()
        if channels == 4:  # the grouped conv's input: the photo's RGB plus its grey level
            photos = np.concatenate([photos, photos.mean(-1, keepdims=True)], -1)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([p[None]] for p in photos)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    with contextlib.redirect_stdout(sys.stderr):
        return converter.convert()


def main() -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    from edgeml_converters.tf import import_tensorflow

    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    models = {"tiny_int8": (_tiny(keras), True, False), "tiny_float32": (_tiny(keras), False, False),
              "dynamic_int8": (_tiny(keras), True, True)}

    inp = keras.Input((32, 32, 4))
    x = keras.layers.Conv2D(8, 3, padding="same", groups=2, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    models["grouped_conv_int8"] = (keras.Model(inp, keras.layers.Dense(4, activation="softmax")(x)), True, False)

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    models["upsample_int8"] = (keras.Model(inp, keras.layers.Dense(4, activation="softmax")(x)), True, False)

    for name, (model, int8, dynamic) in models.items():
        (HERE / f"{name}.tflite").write_bytes(_convert(tf, model, int8, dynamic))
        print(HERE / f"{name}.tflite")
    edgetpu_structured(HERE / "tiny_int8.tflite", HERE / "tiny_int8_edgetpu.tflite")
    return 0



def edgetpu_structured(src: Path, dst: Path) -> None:
    """Write ``dst``: ``src`` with its int8 core replaced by one ``edgetpu-custom-op``, as edgetpu_compiler does.

    Only the graph structure of a compiled model (QUANTIZE → edgetpu-custom-op → QUANTIZE); the custom op's
    payload (the TPU instructions only the compiler can make) is empty. A TFLite interpreter without the Edge TPU
    delegate refuses it exactly as it refuses a real compiled model. Needs flatbuffers and ai_edge_litert only.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    sg = model.subgraphs[0]
    first, last = sg.operators[0], sg.operators[-1]
    custom = schema.OperatorCodeT()
    custom.builtinCode = custom.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    custom.customCode, custom.version = "edgetpu-custom-op", 1
    model.operatorCodes.append(custom)
    core = schema.OperatorT()
    core.opcodeIndex = len(model.operatorCodes) - 1
    core.inputs, core.outputs = list(first.outputs), list(last.inputs)
    core.customOptions = []
    sg.operators = [first, core, last]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--edgetpu-structured"]:  # no TensorFlow needed for this one
        edgetpu_structured(HERE / "tiny_int8.tflite", HERE / "tiny_int8_edgetpu.tflite")
        sys.exit(0)
    sys.exit(main())
