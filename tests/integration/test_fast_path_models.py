"""The fast path on real converted colour models: uint8 (copy), int8 (bit flip) and non-identity (LUT) inputs.

The three small Keras models are converted once with TensorFlow and cached under build/test-cache/fastpath/; a
runtime-only environment reuses the cached files. Each is checked against the float reference pipeline on real
photos: the input tensor to ±1 LSB and the top-1 class exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeml import Classifier
from edgeml.frame import FORMATS
from edgeml.model.metadata import LABELS_FILE, METADATA_FILE, embed, write_json
from edgeml.preprocess import Preprocessing
from tests.conftest import CACHE, HAS_TF
from tests.reference_pipeline import lsb_agreement, make_frame, reference

HERE = CACHE / "fastpath"
# name -> (input type, preprocessing the model was trained with, expected InputQuantizer kind)
MODELS = {
    "uint8_identity": ("uint8", Preprocessing(), "copy"),
    "int8_identity": ("int8", Preprocessing(resize="center_crop", crop_fraction=0.875), "xor"),
    "uint8_affine": ("uint8", Preprocessing(resize="letterbox", pad_value=127, mean=(127.5,), std=(127.5,)), "lut"),
}
LABELS = ["red", "green", "blue", "bright", "dark"]


def _calibration_images(size: int) -> np.ndarray:
    from skimage import data

    photos = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    from PIL import Image

    out = []
    for p in photos:
        for angle in (0, 90, 180, 270):
            out.append(np.asarray(Image.fromarray(p).rotate(angle, expand=True).resize((size, size))))
    return np.stack(out).astype(np.float32)


def _build(name: str, path: Path) -> None:
    from edgeml_converters.tf import import_tensorflow

    tf = import_tensorflow()
    import keras

    input_type, prep, _ = MODELS[name]
    keras.utils.set_random_seed(7)
    mean, std = prep.mean[0], prep.std[0]
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Rescaling(std / 255.0, offset=mean / 255.0)(inputs)  # back to 0..1 whatever the normalisation
    # A colour classifier with known weights, so classes mean something and margins are not coin flips:
    # a 3x3 blur per channel, global average, then "how red/green/blue/bright/dark" scores.
    conv = keras.layers.Conv2D(3, 3, strides=2, use_bias=False)
    x = keras.layers.GlobalAveragePooling2D()(conv(x))
    dense = keras.layers.Dense(len(LABELS), activation="softmax")
    outputs = dense(x)
    model = keras.Model(inputs, outputs)
    conv.set_weights([np.einsum("hw,io->hwio", np.full((3, 3), 1 / 9), np.eye(3)).astype(np.float32)])
    third = np.full(3, 1 / 3)
    w = np.stack([np.eye(3)[c] * 1.5 - 0.5 for c in range(3)] + [third, -third], axis=1) * 12.0
    dense.set_weights([w.astype(np.float32), np.array([0, 0, 0, -6, 6], np.float32)])
    images = (_calibration_images(64) - mean) / std

    def representative():
        for image in images:
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8 if input_type == "int8" else tf.uint8
    converter.inference_output_type = converter.inference_input_type
    tflite = converter.convert()
    meta = {"preprocessing": prep.to_dict(), "output_activation": "softmax", "task": "test"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(embed(tflite, {LABELS_FILE: "\n".join(LABELS).encode(), METADATA_FILE: write_json(meta)}))


@pytest.fixture(scope="module", params=list(MODELS))
def model(request) -> tuple[str, Path]:
    path = HERE / f"{request.param}.tflite"
    if not path.is_file():
        if not HAS_TF:
            pytest.skip("needs TensorFlow to build the fast-path test models, or a built cache")
        _build(request.param, path)
    return request.param, path


def test_input_path_is_the_expected_kind(model):
    name, path = model
    clf = Classifier(path)
    assert clf.input_path == MODELS[name][2]
    assert clf.preprocessing == MODELS[name][1]
    assert clf.input.dtype == np.dtype(MODELS[name][0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_fast_path_matches_reference_tensor_and_top1_on_photos(model, photos, fmt):
    _, path = model
    clf = Classifier(path)
    interpreter = clf.interpreter
    for photo in photos.values():
        frame, truth = make_frame(photo[:, : photo.shape[1] - photo.shape[1] % 2], fmt, pad=6)
        ref = reference(truth, clf.input, clf.preprocessing)
        fast = clf.preprocess(frame)
        assert lsb_agreement(fast[0], ref) >= 0.99
        interpreter.set_tensor(clf.input.index, ref.astype(clf.input.dtype)[None])
        interpreter.invoke()
        expected = int(np.argmax(interpreter.get_tensor(clf.output.index)[0]))
        results = clf.classify(frame, top_k=len(LABELS))
        assert results[0].index == expected, (fmt, results)
        assert abs(sum(r.score for r in results) - 1.0) < 0.05  # int8/uint8 probabilities dequantized exactly


def test_threshold_and_deny_list_work_in_the_quantized_domain(model, photos):
    _, path = model
    full = Classifier(path).classify(photos["coffee"], top_k=5)
    top = full[0]
    above = Classifier(path).classify(photos["coffee"], top_k=5, threshold=full[1].score + 1e-6)
    assert [r.index for r in above] == [r.index for r in full if r.score >= full[1].score + 1e-6]
    denied = Classifier(path, deny=[top.label]).classify(photos["coffee"], top_k=5)
    assert top.label not in [r.label for r in denied] and len(denied) == 4
    allowed = Classifier(path, allow=[full[2].label, full[3].label]).classify(photos["coffee"], top_k=5)
    assert [r.label for r in allowed] == [full[2].label, full[3].label]
