"""Model inputs (legacy .h5 with SeparableConv2D/BatchNorm/greyscale, unknown H/W) and bad input, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.errors import ConversionError, ModelCompatibilityError

pytestmark = pytest.mark.converter


@pytest.fixture(scope="module")
def legacy_h5(tmp_path_factory):
    """A Keras-2-style legacy HDF5 model, trained briefly on Fashion-MNIST: greyscale input of unknown size,
    SeparableConv2D and BatchNormalization, as real-world .h5 files have."""
    import keras
    from keras import layers

    from edgeml_converters.datasets import fashion_mnist

    keras.utils.set_random_seed(0)
    images, labels = fashion_mnist.load("train")
    model = keras.Sequential([
        keras.Input((None, None, 1)),
        layers.Rescaling(1.0 / 255),
        layers.SeparableConv2D(16, 3, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.SeparableConv2D(32, 3, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images[:3000, :, :, None].astype(np.float32), labels[:3000], epochs=2, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("h5") / "legacy_sepconv.h5"
    model.save(path)  # .h5 suffix → the legacy HDF5 format Keras 2 wrote
    np.savez(path.parent / "calib.npz", images=images[50000:50200])
    return path


def test_unknown_input_size_asks_for_input_size(legacy_h5, tmp_path):
    from edgeml_converters.convert import convert

    with pytest.raises(ModelCompatibilityError, match=r"unknown size \(None, None, 1\).*--input-size HxW"):
        convert(legacy_h5, tmp_path, quantize="float32")


def test_legacy_h5_converts_to_int8_from_npz_calibration(legacy_h5, tmp_path):
    import h5py

    from edgeml_converters.convert import convert

    assert h5py.is_hdf5(legacy_h5)
    result = convert(legacy_h5, tmp_path, calibration_dir=legacy_h5.parent / "calib.npz", input_size=(28, 28),
                     max_calibration_images=150, check_images=50, progress=False)
    m = result.models[0]
    assert m.input.shape == (1, 28, 28, 1) and m.exact_input
    assert m.agreement is not None and m.agreement >= 0.9
    assert m.graph.ops.get("DEPTHWISE_CONV_2D", 0) == 2 and "FLOAT32" not in m.graph.tensor_dtypes


def test_unregistered_custom_layer_is_named_with_the_fix(tmp_path):
    import keras

    from edgeml_converters import loading as keras_io

    class ScaleBy2(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = keras.Sequential([keras.Input((8, 8, 3)), ScaleBy2(), keras.layers.GlobalAveragePooling2D()])
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(ConversionError, match=r"custom layer or function 'ScaleBy2'.*--custom-objects") as info:
        keras_io.load(path)
    assert "\n" not in str(info.value)
    module = tmp_path / "my_layers.py"
    module.write_text("import keras\n\nclass ScaleBy2(keras.layers.Layer):\n    def call(self, x):\n"
                      "        return x * 2.0\n")
    loaded = keras_io.load(path, custom_objects=keras_io.load_custom_objects(module))
    assert loaded.input_shape == (8, 8, 3)


def test_op_without_int8_kernel_is_named_with_alternatives(fashion, tmp_path):
    import keras

    from edgeml_converters.convert import convert

    image = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3)(keras.layers.Rescaling(1 / 255)(image))
    x = keras.layers.Lambda(keras.ops.sin)(x)
    model = keras.Model(image, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x)),
                        name="with_sin")
    with pytest.raises(ConversionError, match=r"without an int8 kernel: SIN .*--quantize dynamic") as info:
        convert(model, tmp_path, calibration_dir=fashion.calibration_dir, max_calibration_images=20,
                check_images=0, progress=False)
    assert "\n" not in str(info.value)


def test_greyscale_calibration_for_an_rgb_model_is_refused(fashion, tmp_path):
    import keras

    from edgeml_converters.convert import convert

    model = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ConversionError, match=r"have 1 channel .* model takes 3"):
        convert(model, tmp_path, calibration_dir=fashion.calibration_dir, progress=False)
