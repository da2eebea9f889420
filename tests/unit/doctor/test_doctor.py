"""edgeml doctor: the real run on this machine agrees with what is installed; recorded trees give the right fixes."""

from __future__ import annotations

import ctypes.util
import glob
import importlib.metadata
import importlib.util
import json
import platform
import sys

import pytest

from edgeml.doctor import Finding, exit_code, run_checks
from edgeml.doctor.checks import usb_node_problem
from tests.board_trees import CORAL_USB_BOOTLOADER, TREES, write_tree
from tests.conftest import run_cli


def _by_check(findings: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in findings:
        out.setdefault(f["check"], []).append(f)
    return out


def test_doctor_on_this_machine_matches_what_is_installed():
    proc = run_cli("doctor", "--json")
    findings = [json.loads(line) for line in proc.stdout.splitlines()]
    by = _by_check(findings)
    assert {f["status"] for f in findings} <= {"ok", "warn", "fail"}
    assert proc.returncode == (1 if any(f["status"] == "fail" for f in findings) else 0)
    assert by["python"][0]["python"] == platform.python_version()
    if platform.machine() == "x86_64" and not glob.glob("/proc/device-tree/model"):
        assert by["board"][0]["board"] == "linux-x86_64"
    assert by["os"][0]["arch"] == platform.machine()
    interp = by["interpreter"][0]
    try:
        litert = importlib.metadata.version("ai-edge-litert")
    except importlib.metadata.PackageNotFoundError:
        litert = None
    assert interp["ai-edge-litert"] == litert and interp["numpy"] == importlib.metadata.version("numpy")
    if litert:
        assert interp["status"] == "ok" and interp["backend"] == "ai_edge_litert"
    lib = by["libedgetpu"][0]
    assert (lib.get("path") is None) == (ctypes.util.find_library("edgetpu") is None and
                                         not glob.glob("/usr/lib/*/libedgetpu.so.1*"))
    camera = by["camera"][0]
    if not glob.glob("/dev/video*"):
        assert camera["status"] == "warn" and "no /dev/video" in camera["message"]
    for f in findings:
        assert f["status"] == "ok" or f["fix"], f


def test_text_output_shows_fix_lines(tmp_path):
    write_tree(tmp_path, TREES["rpi-4b"], {"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "powersave\n"})
    out = run_cli("doctor", "--root", str(tmp_path)).stdout
    assert "[WARN] cpu-governor" in out and "fix:" in out and "scaling_governor" in out


def test_pi_under_voltage_and_throttling_decoded(tmp_path):
    # 0x50005: under-voltage now + throttled now, and both since boot (a classic weak-supply Pi 4).
    write_tree(tmp_path, TREES["rpi-4b"], {"sys/devices/platform/soc/soc:firmware/get_throttled": "50005\n"})
    f = next(f for f in run_checks(tmp_path) if f.check == "throttling")
    assert f.status == "warn" and "under-voltage now" in f.message and "throttled since boot" in f.message
    assert "power supply" in f.fix


def test_pi_without_throttling_is_ok(tmp_path):
    write_tree(tmp_path, TREES["rpi-5"], {"sys/devices/platform/soc/soc:firmware/get_throttled": "0\n"})
    assert next(f for f in run_checks(tmp_path) if f.check == "throttling").status == "ok"


def test_32_bit_pi_os_fails_with_the_64_bit_fix(tmp_path):
    findings = run_checks(write_tree(tmp_path, TREES["rpi-zero-2w"]))
    os_finding = next(f for f in findings if f.check == "os")
    assert os_finding.status == "fail" and "64-bit" in os_finding.fix
    assert exit_code(findings) == 1


def test_coral_usb_without_libedgetpu_warns_with_apt_fix(tmp_path):
    findings = run_checks(write_tree(tmp_path, TREES["rpi-5"], CORAL_USB_BOOTLOADER))
    lib = next(f for f in findings if f.check == "libedgetpu")
    assert lib.status == "warn" and "libedgetpu1-std" in lib.fix
    access = next(f for f in findings if f.check == "edgetpu-access")
    assert "firmware not loaded yet" in access.message


def test_libedgetpu_found_by_path_with_version_and_never_loaded(tmp_path):
    lib_dir = tmp_path / "usr" / "lib" / "aarch64-linux-gnu"
    lib_dir.mkdir(parents=True)
    (lib_dir / "libedgetpu.so.1.0").write_bytes(b"not an ELF: loading it would fail loudly")
    (lib_dir / "libedgetpu.so.1").symlink_to("libedgetpu.so.1.0")
    write_tree(tmp_path, TREES["coral-dev-board"])
    findings = run_checks(tmp_path)
    lib = next(f for f in findings if f.check == "libedgetpu")
    assert lib.status == "ok" and "libedgetpu.so.1" in lib.message and dict(lib.details)["version"] == "1.0"
    assert next(f for f in findings if f.check == "edgetpu-access").message.startswith("pci:0")


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 is installed here")
@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="the hint is about venvs")
def test_system_picamera2_invisible_in_venv_gives_system_site_packages_hint(tmp_path):
    write_tree(tmp_path, TREES["rpi-4b"], {"usr/lib/python3/dist-packages/picamera2/__init__.py": ""})
    cam = next(f for f in run_checks(tmp_path) if f.check == "camera")
    assert cam.status == "fail" and "--system-site-packages" in cam.fix and "system-wide" in cam.message


@pytest.mark.parametrize(("mode", "uid", "gid", "me", "groups", "blocked"), [
    (0o664, 0, 46, 1000, {46}, False),   # crw-rw-r-- root:plugdev, user in plugdev (libedgetpu's udev rule)
    (0o664, 0, 46, 1000, {1000}, True),  # same node, user not in plugdev: writes fail
    (0o666, 0, 0, 1000, set(), False),   # world read/write
    (0o600, 1000, 0, 1000, set(), False),
    (0o600, 0, 0, 0, set(), False),      # root
])
def test_usb_node_permission_rule(mode, uid, gid, me, groups, blocked):
    assert usb_node_problem(mode, uid, gid, me, groups) is blocked


def test_finding_validation():
    with pytest.raises(ValueError, match="has no fix"):
        Finding("x", "warn", "something")
    with pytest.raises(ValueError, match="status must be one of"):
        Finding("x", "bad", "something", "fix")
