"""One precedence chain for every run setting: explicit argument > board profile > model metadata > default."""

from __future__ import annotations

import ctypes.util
import logging
from pathlib import Path

import pytest

from edgeml import Classifier, InvalidArgumentError, resolve_settings
from edgeml.boards import detect
from edgeml.model import ModelMetadata
from edgeml.preprocess import Preprocessing
from tests.board_trees import CORAL_USB_READY, TREES, write_tree

MODEL = Path(__file__).resolve().parents[1] / "data" / "tiny_int8.tflite"
HAS_LIBEDGETPU = ctypes.util.find_library("edgetpu") is not None


def test_defaults_when_nothing_is_said():
    s = resolve_settings()
    assert (s.threads, s.device, s.fallback, s.source, s.camera_format) == (None, "cpu", None, None, None)
    assert s.preprocessing == Preprocessing() and s.board is None
    assert {s.origin(n) for n in ("threads", "device", "fallback", "source", "preprocessing")} == {"default"}


def test_board_rung_sets_threads_source_and_camera_format():
    s = resolve_settings(board="rpi-4b", source="camera")
    assert (s.threads, s.source, s.camera_format, s.frame_format) == (3, "picamera2", "YUV420", "I420")
    assert s.origin("threads") == "board rpi-4b" and "--source camera" in s.origin("source")
    assert resolve_settings(board="rpi-5").frame_format == "BGR"  # picamera2 "RGB888" is B, G, R in memory


def test_explicit_argument_beats_the_board():
    s = resolve_settings(threads=1, source="usb:1", camera_format="RGB888", board="rpi-4b")
    assert (s.threads, s.source, s.camera_format) == (1, "usb:1", "RGB888")
    assert {s.origin(n) for n in ("threads", "source", "camera_format")} == {"argument"}


def test_a_board_with_an_edge_tpu_picks_it_and_falls_back_to_the_cpu():
    s = resolve_settings(board="coral-dev-board")
    assert (s.device, s.fallback) == ("pci", "cpu")
    assert s.origin("device") == "board coral-dev-board" and "with a warning" in s.origin("fallback")


def test_an_attached_usb_accelerator_is_the_board_rung_device(tmp_path):
    found = detect(write_tree(tmp_path, TREES["rpi-4b"], CORAL_USB_READY))
    s = resolve_settings(board=found)
    assert (s.device, s.fallback, s.threads) == ("usb", "cpu", 3)
    assert "coral-usb" in s.origin("device")


def test_an_explicit_device_never_falls_back_silently():
    assert resolve_settings(device="usb", board="coral-dev-board").fallback is None
    assert resolve_settings(device="usb", fallback="cpu").fallback == "cpu"
    none = resolve_settings(board="coral-dev-board", fallback="none")
    assert (none.device, none.fallback, none.origin("fallback")) == ("pci", None, "argument")


def test_generic_profile_threads_leave_the_capture_thread_a_core(tmp_path):
    found = detect(write_tree(tmp_path, TREES["linux-x86_64"]))
    s = resolve_settings(board=found)
    assert s.threads == found.facts.cores - 1 == 1
    assert "one kept for capture" in s.origin("threads")


def test_preprocessing_fields_come_from_the_highest_rung_that_sets_them():
    model = ModelMetadata(preprocessing=Preprocessing(resize="center_crop", crop_fraction=0.875, mean=(127,),
                                                      std=(128,)))
    s = resolve_settings(preprocessing={"resize": "letterbox"}, board={"preprocessing": {"pad_value": 9}},
                         model=model)
    assert (s.preprocessing.resize, s.preprocessing.pad_value, s.preprocessing.mean) == ("letterbox", 9, (127.0,))
    origin = s.origin("preprocessing")
    assert origin.startswith("argument (resize); board (pad_value); model (") and "mean" in origin


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"threads": 0}, "num_threads must be >= 1"),
    ({"device": "tpu"}, "device must be one of"),
    ({"fallback": "gpu"}, "fallback must be None or 'cpu'"),
    ({"camera_format": "RGB"}, "camera_format must be one of"),
    ({"preprocessing": {"resize": "crop"}}, "resize must be"),
    ({"source": "camera", "board": "coral-usb"}, "names no camera source"),
])
def test_bad_values_are_invalid_argument_errors(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        resolve_settings(**kwargs)


def test_settings_say_where_each_value_came_from():
    s = resolve_settings(threads=2, board="rpi-4b", source="camera")
    d = s.to_dict()
    assert d["threads"] == {"value": 2, "from": "argument"} and d["board"] == "rpi-4b"
    lines = s.describe()
    assert [line.split()[0] for line in lines] == list(d)[1:]
    assert any(line.startswith("source") and "picamera2" in line and "board rpi-4b" in line for line in lines)


def test_classifier_records_its_resolved_settings():
    clf = Classifier(MODEL, board="rpi-4b")
    assert clf.num_threads == clf.settings.threads == 3 and clf.settings.origin("threads") == "board rpi-4b"
    assert clf.settings.origin("preprocessing") == "default"  # this test model records no preprocessing
    assert clf.settings.source is None  # a classifier needs no source; --source camera asks for the board's


@pytest.mark.skipif(HAS_LIBEDGETPU, reason="libedgetpu is installed here: the TPU would be used")
def test_a_coral_board_tries_its_tpu_and_says_when_it_runs_on_the_cpu(caplog):
    """board="coral-dev-board" no longer runs silently on the CPU: it asks for the PCIe TPU, and says it fell back."""
    with caplog.at_level(logging.WARNING):
        clf = Classifier(MODEL, board="coral-dev-board")
    assert clf.settings.device == "pci" and clf.device == "cpu"
    assert "fallback='cpu'" in caplog.text and clf.notes and "fell back" in clf.notes[0]
