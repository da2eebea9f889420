"""The Edge TPU runtime path: every failure is an EdgeTpuError whose message names the fix; CPU fallback on request.

Runs where no Edge TPU and no libedgetpu exist: the 'library missing' path uses the real interpreter's
load_delegate and the real dynamic loader. Only where a library *and* a device would be needed does
``LibEdgeTpuDouble`` stand in, following ``load_delegate(library, options)``'s real behaviour (ValueError
"Failed to load delegate from ..." on failure) and libedgetpu's ``edgetpu_version()`` string.
"""

from __future__ import annotations

import ctypes.util
import logging
from pathlib import Path

import pytest

from edgeml import Classifier, EdgeTpuError
from edgeml.edgetpu.delegate import Probe, diagnose, load_edgetpu_delegate, runtime_error, runtime_mismatch
from edgeml.hardware import EdgeTpuDevice
from edgeml.interpreter import open_model, parse_device

DATA = Path(__file__).resolve().parents[2] / "data"
MODEL = DATA / "tiny_int8.tflite"
COMPILED = DATA / "tiny_int8_edgetpu.tflite"
HAS_LIBEDGETPU = ctypes.util.find_library("edgetpu") is not None
no_runtime = pytest.mark.skipif(HAS_LIBEDGETPU, reason="libedgetpu is installed here: not the missing-library path")


class LibEdgeTpuDouble:
    """Stands in for libedgetpu.so.1 (present, but no TPU plugged in): the calls edgeml makes, as the real one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def load_delegate(self, library: str, options: dict[str, str] | None = None) -> object:
        self.calls.append((library, dict(options or {})))
        raise ValueError(f"Failed to load delegate from {library}\n")

    def version(self, library: str) -> str:
        return "BuildLabel(COMPILER=6.3.0 20170516,DATE=redacted,TIME=redacted), RuntimeVersion(14)"


def _usb(root: Path, name: str = "2-1") -> None:
    d = root / "sys" / "bus" / "usb" / "devices" / name
    d.mkdir(parents=True)
    for key, value in (("idVendor", "18d1"), ("idProduct", "9302"), ("busnum", "2"), ("devnum", "3")):
        (d / key).write_text(value + "\n")


@no_runtime
def test_library_missing_names_the_apt_package():
    with pytest.raises(EdgeTpuError, match=r"libedgetpu\.so\.1 cannot be loaded.*apt-get install libedgetpu1-std") as e:
        Classifier(MODEL, device="usb")
    assert e.value.reason == "library_missing"
    assert "coral-edgetpu-stable" in str(e.value) and "fallback='cpu'" in str(e.value)


@no_runtime
def test_fallback_cpu_runs_on_the_cpu_and_says_so(caplog, photos):
    with caplog.at_level(logging.WARNING, logger="edgeml.edgetpu.delegate"):
        clf = Classifier(MODEL, device="auto", fallback="cpu")
    assert clf.device == "cpu"
    assert "running" in caplog.text and "on the CPU because fallback='cpu'" in caplog.text
    assert len(clf.classify(photos["chelsea"], top_k=2)) == 2


@no_runtime
def test_fallback_with_a_compiled_model_runs_the_model_from_before_compilation(caplog):
    with caplog.at_level(logging.WARNING):
        clf = Classifier(COMPILED, device="usb", fallback="cpu")
    assert clf.model_path == MODEL and clf.device == "cpu"


def test_compiled_model_on_the_cpu_says_to_attach_a_tpu_or_use_the_uncompiled_model():
    with pytest.raises(EdgeTpuError, match=r"edgetpu-custom-op.*device='usb'.*tiny_int8\.tflite") as e:
        Classifier(COMPILED)
    assert e.value.reason == "compiled_model_needs_tpu"


def test_no_device_names_how_to_attach_one(tmp_path):
    lib = LibEdgeTpuDouble()
    with pytest.raises(EdgeTpuError, match=r"No Edge TPU for device='usb:0'.*plug the USB Accelerator.*gasket") as e:
        load_edgetpu_delegate("usb:0", load_delegate=lib.load_delegate, root=tmp_path, library_version=lib.version)
    assert e.value.reason == "no_device"
    assert lib.calls == [("libedgetpu.so.1", {"device": "usb:0"})]


def test_asking_for_a_second_tpu_lists_what_was_found(tmp_path):
    _usb(tmp_path)
    lib = LibEdgeTpuDouble()
    with pytest.raises(EdgeTpuError, match=r"device='usb:1' \(found: usb:0 \(ready\)"):
        load_edgetpu_delegate("usb:1", load_delegate=lib.load_delegate, root=tmp_path, library_version=lib.version)


def test_device_present_but_delegate_fails_reports_runtime_version_and_replug(tmp_path):
    _usb(tmp_path)
    lib = LibEdgeTpuDouble()
    with pytest.raises(EdgeTpuError, match=r"RuntimeVersion\(14\).*Failed to load delegate.*unplug/replug") as e:
        load_edgetpu_delegate("auto", load_delegate=lib.load_delegate, root=tmp_path, library_version=lib.version)
    assert e.value.reason == "delegate_failed" and lib.calls[0][1] == {}  # auto: libedgetpu picks the first


def test_permission_names_udev_plugdev_and_apex_group():
    dev = EdgeTpuDevice("usb", "/sys/bus/usb/devices/2-1", "ready", 0)
    err = diagnose(Probe("libedgetpu.so.1", devices=(dev,), inaccessible=("/dev/bus/usb/002/003",)), "usb")
    assert err.reason == "permission"
    assert "/dev/bus/usb/002/003" in str(err) and "usermod -aG plugdev" in str(err) and "apex" in str(err)


def test_model_for_a_newer_runtime_names_the_upgrade_and_the_recompile_flag():
    # The message libedgetpu gives when a model compiled for runtime 14 meets runtime 13 (FIELD_NOTES, Coral issues).
    message = ("Failed to prepare for TPU. Failed precondition: Package requires runtime version (14), which is "
               "newer than this runtime version (13).Node number 1 (EdgeTpuDelegateForCustomOp) failed to prepare.")
    assert runtime_mismatch(message) == (14, 13)
    err = runtime_error(COMPILED, (14, 13))
    assert err.reason == "runtime_too_old"
    assert "apt-get install libedgetpu1-std" in str(err) and "edgetpu_compiler -m 13" in str(err)
    assert runtime_mismatch("Failed to load delegate from libedgetpu.so.1") is None


@pytest.mark.parametrize(("device", "parsed"), [("cpu", ("cpu", None)), ("auto", ("auto", None)),
                                                ("usb", ("usb", None)), ("usb:0", ("usb", 0)), ("pci:1", ("pci", 1))])
def test_device_strings(device, parsed):
    assert parse_device(device) == parsed


@pytest.mark.parametrize("bad", ["gpu", "usb:x", "auto:0", "", "USB"])
def test_bad_device_or_fallback_is_a_value_error_listing_valid_choices(bad):
    with pytest.raises(ValueError, match=r"cpu, auto, usb, usb:N, pci, pci:N"):
        parse_device(bad)
    with pytest.raises(ValueError, match="fallback must be None or 'cpu'"):
        open_model(MODEL, device="usb", fallback="gpu")
