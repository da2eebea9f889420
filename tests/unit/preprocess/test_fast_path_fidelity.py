"""The fast path writes what a slow float reference computes: ±1 LSB on ≥ 99% of values, every mode × format.

The reference (tests/reference_pipeline.py) converts the whole frame to float RGB, resamples it with float
bilinear (half-pixel centres, edge clamped), letterboxes, then normalises and quantizes in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.frame import FORMATS, Frame
from edgeml.preprocess import InputQuantizer, Preprocessing, placement, set_backend, write_input
from edgeml.preprocess.resampling import BACKENDS
from edgeml.tensors import TensorSpec
from tests.reference_pipeline import lsb_agreement, make_frame, reference


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "opencv":
        pytest.importorskip("cv2")
    yield set_backend(request.param)
    set_backend("auto")


U8 = TensorSpec("in", 0, (1, 224, 224, 3), np.dtype(np.uint8), 1.0, 0)
MODES = [Preprocessing(), Preprocessing(resize="center_crop", crop_fraction=0.875),
         Preprocessing(resize="letterbox", pad_value=114)]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("prep", MODES, ids=lambda p: p.resize)
def test_every_mode_and_format_matches_float_reference(photos, backend, fmt, prep):
    """Real photos in every colour format, odd width and padded stride for packed formats."""
    rgb = photos["chelsea"][:, :450] if fmt in ("I420", "NV12") else photos["chelsea"][:, :449]  # odd width
    frame, truth = make_frame(rgb, fmt, pad=14 if fmt in ("I420", "NV12") else 13)
    out = np.empty(U8.shape[1:], np.uint8)
    write_input(frame, out, prep, InputQuantizer.for_input(U8, prep, 3))
    assert lsb_agreement(out, reference(truth, U8, prep)) >= 0.99


SPECS = {
    "uint8-identity": (U8, Preprocessing()),
    "int8-xor": (TensorSpec("in", 0, (1, 160, 120, 3), np.dtype(np.int8), 1.0, -128), Preprocessing()),
    "uint8-foreign": (TensorSpec("in", 0, (1, 96, 96, 3), np.dtype(np.uint8), 0.0078125, 128),
                      Preprocessing(mean=(127.5,), std=(127.5,))),
    "int8-per-channel": (TensorSpec("in", 0, (1, 96, 96, 3), np.dtype(np.int8), 0.0174, -14),
                         Preprocessing(mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))),
    "grey-uint8": (TensorSpec("in", 0, (1, 28, 28, 1), np.dtype(np.uint8), 1.0, 0), Preprocessing()),
}


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("fmt", ["RGB", "BGRX", "NV12", "GRAY"])
def test_quantization_kinds_match_float_reference(photos, backend, name, fmt):
    spec, prep = SPECS[name]
    frame, truth = make_frame(photos["coffee"], fmt)
    out = np.empty(spec.shape[1:], spec.dtype)
    quantizer = InputQuantizer.for_input(spec, prep, spec.shape[3])
    assert quantizer.kind == {"uint8-identity": "copy", "int8-xor": "xor", "grey-uint8": "copy"}.get(name, "lut")
    write_input(frame, out, prep, quantizer)
    assert lsb_agreement(out, reference(truth, spec, prep)) >= 0.99


def test_float_model_matches_within_one_pixel_step(photos, backend):
    spec = TensorSpec("in", 0, (1, 128, 128, 3), np.dtype(np.float32))
    prep = Preprocessing(resize="center_crop", crop_fraction=0.875, mean=(127.5,), std=(127.5,))
    frame, truth = make_frame(photos["astronaut"], "BGR")
    out = np.empty(spec.shape[1:], np.float32)
    write_input(frame, out, prep, InputQuantizer.for_input(spec, prep, 3))
    assert lsb_agreement(out, reference(truth, spec, prep), lsb=1 / 127.5) >= 0.99


def test_frames_at_model_size_pass_through_byte_for_byte(photos, backend):
    pixels = np.ascontiguousarray(photos["astronaut"][:224, :224])
    out = np.empty((224, 224, 3), np.uint8)
    for prep in MODES[::2]:  # stretch and letterbox place a same-size frame 1:1
        write_input(Frame(pixels), out, prep, InputQuantizer.for_input(U8, prep, 3))
        assert np.array_equal(out, pixels)


def test_letterbox_border_holds_the_quantized_pad_value(photos, backend):
    spec, prep = SPECS["int8-xor"][0], Preprocessing(resize="letterbox", pad_value=114)
    out = np.empty(spec.shape[1:], np.int8)
    write_input(Frame(photos["coffee"]), out, prep, InputQuantizer.for_input(spec, prep, 3))
    x0, y0, x1, y1 = placement((400, 600), (160, 120), prep).rect
    assert (x0, x1) == (0, 120) and y0 > 0
    assert (out[:y0] == 114 - 128).all() and (out[y1:] == 114 - 128).all()


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("src_hw,dst_hw", [((420, 420), (224, 224)), ((48, 64), (224, 224)), ((451, 333), (97, 130)),
                                           ((5, 7), (5, 3))])
def test_numpy_resampler_is_within_one_of_opencv(photos, channels, src_hw, dst_hw):
    """numpy's separable fixed-point bilinear = cv2.INTER_LINEAR ±1, shrinking, enlarging, strided crops."""
    cv2 = pytest.importorskip("cv2")
    from edgeml.preprocess.resampling import numpy_resize

    rgb = photos["astronaut"]
    pixels = {1: rgb[..., 1], 3: rgb, 4: np.dstack([rgb, rgb[..., :1]])}[channels]
    h, w = src_hw
    crop = pixels[17:17 + h, 31:31 + w]  # a view with the frame's row stride
    expected = cv2.resize(np.ascontiguousarray(crop), dst_hw[::-1], interpolation=cv2.INTER_LINEAR)
    for source in (crop, np.ascontiguousarray(crop)):
        got = numpy_resize(source, dst_hw)
        assert got.dtype == np.uint8 and got.shape == expected.shape
        assert np.abs(got.astype(int) - expected).max() <= 1
    tensor = np.zeros((dst_hw[0] + 4, dst_hw[1] + 6, channels), np.uint8)  # writes into a region of a larger buffer
    region = tensor[2:-2, 3:-3] if channels > 1 else tensor[2:-2, 3:-3, 0]
    assert numpy_resize(crop, dst_hw, region) is region
    assert np.abs(region.astype(int) - expected).max() <= 1 and not tensor[:2].any() and not tensor[:, :3].any()
