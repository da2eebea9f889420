"""Preprocessing: the uint8 fast path is exact, and the general path matches a float reference."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.errors import ModelFormatError
from edgeml.preprocess import (
    InputQuantizer,
    Preprocessing,
    crop_box,
    input_size,
    placement,
    resize,
    resolve_preprocessing,
    set_backend,
    to_input_tensor,
)
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


@pytest.mark.parametrize("fraction", [1.0, 0.875, 0.01])
def test_center_crop_box_is_never_empty_and_stays_inside(fraction):
    """1-pixel-thin sources (1x8 for a square model) used to get a 0-pixel box: cv2.error or IndexError."""
    for src in [(1, 1), (1, 2), (2, 1), (1, 8), (8, 1), (1000, 1), (1, 1000), (3, 7), (480, 640)]:
        for dst in [(224, 224), (28, 28), (24, 32), (1, 1), (300, 2)]:
            left, top, right, bottom = crop_box(src, dst, fraction)
            assert 0 <= left < right <= src[1] and 0 <= top < bottom <= src[0], (src, dst, fraction)
    assert crop_box((1, 8), (32, 32), 1.0) == (4, 0, 5, 1)  # the pixel at the centre (x = 4.0)


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


def test_models_written_before_letterbox_still_load():
    old = {"resize": "center_crop", "crop_fraction": 0.875, "mean": [127.0], "std": [128.0]}
    p = Preprocessing.from_dict(old)
    assert (p.resize, p.pad_value) == ("center_crop", 0)
    assert Preprocessing.from_dict({"resize": "center-crop"}).resize == "center_crop"
    lb = Preprocessing(resize="letterbox", pad_value=114)
    assert Preprocessing.from_dict(lb.to_dict()) == lb
    with pytest.raises(ValueError, match="pad_value must be an integer pixel value 0..255. Received: 300"):
        Preprocessing(pad_value=300)


@pytest.mark.parametrize(
    ("explicit", "board", "model", "overrides", "expected"),
    [
        (None, None, None, {}, Preprocessing()),
        (None, None, Preprocessing(mean=(127,), std=(128,)), {}, Preprocessing(mean=(127,), std=(128,))),
        # A board's partial settings change only what they name; the model keeps its normalisation.
        (None, {"resize": "letterbox"}, Preprocessing(mean=(127,), std=(128,)),
         {}, Preprocessing(resize="letterbox", mean=(127,), std=(128,))),
        (None, {"preprocessing": {"resize": "letterbox", "pad_value": 7}}, None, {},
         Preprocessing(resize="letterbox", pad_value=7)),
        ({"resize": "center_crop"}, {"resize": "letterbox"}, None, {}, Preprocessing(resize="center_crop")),
        (None, {"resize": "letterbox"}, None, {"resize": "stretch"}, Preprocessing()),
        (Preprocessing(), None, Preprocessing(mean=(127,), std=(128,)), {}, Preprocessing()),  # full object: all
    ],
)
def test_one_precedence_chain_argument_board_model_default(explicit, board, model, overrides, expected):
    assert resolve_preprocessing(explicit, board, model, **overrides) == expected


def test_board_profile_may_be_any_object_with_attributes():
    class Board:
        preprocessing = None
        resize = "letterbox"

    assert resolve_preprocessing(board=Board()).resize == "letterbox"


@pytest.mark.parametrize(
    ("src", "prep", "box", "rect"),
    [
        ((480, 640), Preprocessing(), (0, 0, 640, 480), (0, 0, 224, 224)),
        ((480, 640), Preprocessing(resize="center_crop", crop_fraction=0.875), (110, 30, 530, 450), (0, 0, 224, 224)),
        ((480, 640), Preprocessing(resize="letterbox"), (0, 0, 640, 480), (0, 28, 224, 196)),
        ((640, 480), Preprocessing(resize="letterbox"), (0, 0, 480, 640), (28, 0, 196, 224)),
        ((224, 224), Preprocessing(resize="letterbox"), (0, 0, 224, 224), (0, 0, 224, 224)),
    ],
)
def test_placement_of_each_resize_mode(src, prep, box, rect):
    place = placement(src, (224, 224), prep)
    assert (place.box, place.rect) == (box, rect)
    assert place.padded == (rect != (0, 0, 224, 224))


def test_quantizer_kinds_and_exact_tables():
    assert InputQuantizer.for_input(spec(np.uint8, 1.0, 0), Preprocessing(), 3).kind == "copy"
    assert InputQuantizer.for_input(spec(np.uint8, 1 / 128, 127), Preprocessing(mean=(127,), std=(128,)), 3).kind \
        == "copy"
    assert InputQuantizer.for_input(spec(np.int8, 1.0, -128), Preprocessing(), 3).kind == "xor"
    lut = InputQuantizer.for_input(spec(np.uint8, 0.0078125, 128), Preprocessing(mean=(127.5,), std=(127.5,)), 3)
    assert lut.kind == "lut" and lut.table.shape == (3, 256)
    every_byte = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    out = lut.apply(every_byte, np.empty_like(every_byte))
    np.testing.assert_array_equal(out[..., 0].ravel(), reference(np.arange(256.0)[:, None, None], spec(
        np.uint8, 0.0078125, 128, (1, 256, 1, 1)), Preprocessing(mean=(127.5,), std=(127.5,))).ravel())


def test_resize_backend_is_decided_lazily_and_honours_the_switch(monkeypatch):
    import subprocess
    import sys

    code = ("import sys, edgeml.preprocess.resampling as r; assert 'cv2' not in sys.modules; "
            "print(r.backend(), 'cv2' in sys.modules)")
    env = {"EDGEML_NO_OPENCV": "1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["numpy", "False"]
    with pytest.raises(ValueError, match="Unknown resize backend 'gpu'"):
        set_backend("gpu")
