"""Preprocessing: the uint8 fast path is exact, and the general path matches a float reference."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.errors import ModelFormatError
from edgeml.preprocess import Preprocessing, crop_box, input_size, resize, to_input_tensor
from edgeml.tensors import TensorSpec


def spec(dtype, scale=0.0, zp=0, shape=(1, 4, 4, 3)):
    return TensorSpec("input", 0, shape, np.dtype(dtype), scale, zp)


PIXELS = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5


def reference(pixels, s, prep):
    """The tutorial path: float normalise, then quantize; what the fast paths must equal."""
    real = (pixels.astype(np.float64) - np.array(prep.mean)) / np.array(prep.std)
    if not s.quantized:
        return real[None].astype(s.dtype)
    info = np.iinfo(s.dtype)
    return np.clip(np.rint(real / s.scale + s.zero_point), info.min, info.max).astype(s.dtype)[None]


@pytest.mark.parametrize(
    ("s", "prep"),
    [
        (spec(np.uint8, 1.0, 0), Preprocessing()),  # edgeml's own int8 models: bytes in
        (spec(np.uint8, 1 / 128, 127), Preprocessing(mean=(127,), std=(128,))),  # EfficientNet-Lite
        (spec(np.int8, 1.0, -128), Preprocessing()),  # int8 I/O: bit flip
        (spec(np.uint8, 0.0078125, 128), Preprocessing(mean=(127.5,), std=(127.5,))),  # foreign: requantize
        (spec(np.float32), Preprocessing(mean=(0,), std=(255,))),  # float model
        (spec(np.float32), Preprocessing(mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))),
    ],
)
def test_input_tensor_equals_float_reference(s, prep):
    out = to_input_tensor(PIXELS, s, prep)
    assert out.shape == s.shape and out.dtype == s.dtype
    np.testing.assert_allclose(out.astype(np.float64), reference(PIXELS, s, prep).astype(np.float64), atol=1e-5)


def test_uint8_identity_is_a_view_not_a_copy():
    out = to_input_tensor(PIXELS, spec(np.uint8, 1.0, 0))
    assert np.shares_memory(out, PIXELS)


def test_grey_model_takes_two_dimensional_pixels():
    grey = np.arange(16, dtype=np.uint8).reshape(4, 4)
    out = to_input_tensor(grey, spec(np.uint8, 1.0, 0, shape=(1, 4, 4, 1)))
    assert out.shape == (1, 4, 4, 1) and (out[0, :, :, 0] == grey).all()


@pytest.mark.parametrize("shape", [(1, 224, 224), (2, 224, 224, 3), (1, 224, 224, 4), (1, 1000)])
def test_non_image_inputs_are_rejected(shape):
    with pytest.raises(ModelFormatError, match=r"\(1, H, W, 1 or 3\)"):
        input_size(spec(np.uint8, 1.0, 0, shape=shape))


def test_center_crop_box_matches_resize_then_crop():
    # 640x480 → 224x224 at 0.875: short side 480 → 256 then crop 224 ⇔ a 420x420 box in the source.
    assert crop_box((480, 640), (224, 224), 0.875) == (110, 30, 530, 450)
    assert crop_box((224, 224), (224, 224), 1.0) == (0, 0, 224, 224)


def test_resize_keeps_already_sized_frames_untouched(photos):
    frame = photos["coffee"][:224, :224]
    assert resize(frame, (224, 224)) is frame
    out = resize(photos["coffee"], (224, 224), Preprocessing(resize="center_crop", crop_fraction=0.875))
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8


def test_preprocessing_validates_and_round_trips():
    p = Preprocessing(resize="center_crop", crop_fraction=0.875, mean=(127,), std=(128,))
    assert Preprocessing.from_dict(p.to_dict()) == p
    assert Preprocessing.from_dict({**p.to_dict(), "future_key": 1}) == p
    with pytest.raises(ValueError, match="resize must be"):
        Preprocessing(resize="squash")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="std must be > 0"):
        Preprocessing(std=(0,))
