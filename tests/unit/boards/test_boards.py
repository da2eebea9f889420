"""Board profiles load and validate, and every profile is detected from a recorded file tree of a real board."""

from __future__ import annotations

import json

import pytest

from edgeml.boards import (
    BoardProfile,
    check_latency,
    detect,
    get_profile,
    load_profiles,
    runtime_defaults,
    threads_for_cores,
)
from edgeml.errors import BoardProfileError
from edgeml.hardware import CORAL_USB_IDS
from tests.board_trees import CORAL_USB_BOOTLOADER, CORAL_USB_READY, TREES, write_tree
from tests.conftest import run_cli

REQUIRED = {"rpi-zero-2w", "rpi-3b-plus", "rpi-4b", "rpi-5", "coral-dev-board", "coral-dev-board-mini",
            "coral-usb", "linux-x86_64", "linux-aarch64"}


def test_every_required_profile_ships_and_validates():
    profiles = load_profiles()
    assert set(profiles) >= REQUIRED
    for p in profiles.values():
        assert BoardProfile.from_dict(_roundtrip(p)) == p


def _roundtrip(p: BoardProfile) -> dict:
    d = p.to_dict()
    d.pop("frame_format")
    return d


@pytest.mark.parametrize("name", sorted(set(TREES)))
def test_board_detected_from_recorded_tree(tmp_path, name):
    found = detect(write_tree(tmp_path, TREES[name]))
    assert found.board.name == name
    assert found.accessories == ()


def test_every_board_and_generic_profile_has_a_recorded_tree():
    detectable = {n for n, p in load_profiles().items() if p.kind != "accessory"}
    assert detectable == set(TREES)


@pytest.mark.parametrize("usb", [CORAL_USB_BOOTLOADER, CORAL_USB_READY], ids=["bootloader", "ready"])
@pytest.mark.parametrize("host", ["rpi-4b", "rpi-5", "linux-x86_64"])
def test_coral_usb_accessory_combined_with_host_in_both_states(tmp_path, host, usb):
    found = detect(write_tree(tmp_path, TREES[host], usb))
    assert found.board.name == host
    assert [a.name for a in found.accessories] == ["coral-usb"]
    state = "bootloader" if usb is CORAL_USB_BOOTLOADER else "ready"
    assert f"usb:0 ({state})" in found.reason
    assert runtime_defaults(found)["device"] == "usb"


def test_dev_board_mini_builtin_usb_tpu_is_not_an_accessory(tmp_path):
    found = detect(write_tree(tmp_path, TREES["coral-dev-board-mini"]))
    assert found.accessories == ()
    assert runtime_defaults(found)["device"] == "usb"


def test_accessory_usb_ids_match_the_enumeration_table():
    ids = {f"{v}:{p}" for v, p in CORAL_USB_IDS}
    assert set(get_profile("coral-usb").detect["usb_ids"]) == ids


def test_facts_read_from_tree(tmp_path):
    facts = detect(write_tree(tmp_path, TREES["rpi-5"])).facts
    assert (facts.revision, facts.cores, facts.arch) == ("d04170", 4, "aarch64")
    assert facts.memory_mb == 8245856 // 1024
    zero = detect(write_tree(tmp_path / "zero", TREES["rpi-zero-2w"])).facts
    assert zero.arch == "armv7l"  # 32-bit Raspberry Pi OS on a 64-bit core


def test_cpuinfo_model_used_when_device_tree_is_not_mounted(tmp_path):
    tree = {k: v for k, v in TREES["rpi-4b"].items() if k != "proc/device-tree/model"}
    assert detect(write_tree(tmp_path, tree)).board.name == "rpi-4b"


def test_pi4_rev_1_4_device_tree_model(tmp_path):
    # qiita.com/nak435 (2023): `cat /sys/firmware/devicetree/base/model` -> "Raspberry Pi 4 Model B Rev 1.4".
    write_tree(tmp_path, {"sys/firmware/devicetree/base/model": b"Raspberry Pi 4 Model B Rev 1.4\x00",
                          "proc/cpuinfo": TREES["rpi-4b"]["proc/cpuinfo"]})
    assert detect(tmp_path).board.name == "rpi-4b"


def test_unknown_arch_without_model_is_an_error_naming_the_fix(tmp_path):
    write_tree(tmp_path, {"proc/cpuinfo": "processor\t: 0\ncpu\t\t: POWER9\n"})
    with pytest.raises(BoardProfileError, match="No board profile matches.*linux-aarch64"):
        detect(tmp_path)


@pytest.mark.parametrize(("name", "threads", "source", "frame_format"), [
    ("rpi-4b", 3, "picamera2", "I420"),
    ("rpi-5", 3, "picamera2", "BGR"),  # picamera2 RGB888 is B,G,R in memory
    ("rpi-zero-2w", 3, "picamera2", "I420"),
    ("coral-dev-board", 3, "v4l2:/dev/video0", None),
])
def test_runtime_defaults_from_profile(name, threads, source, frame_format):
    d = runtime_defaults(name)
    assert (d["num_threads"], d["source"], d.get("frame_format")) == (threads, source, frame_format)


def test_auto_detects_this_machine():
    assert runtime_defaults("auto")["board"] == detect().board.name


def test_generic_profile_threads_come_from_detected_cores(tmp_path):
    """A generic profile takes the detected cores minus one: the capture thread keeps a core (2 cores -> 1)."""
    assert "num_threads" not in runtime_defaults("linux-aarch64")
    found = detect(write_tree(tmp_path, TREES["linux-aarch64"]))
    assert found.facts.cores == 2
    assert runtime_defaults(found)["num_threads"] == 1
    assert [threads_for_cores(n) for n in (1, 2, 4, 8)] == [1, 1, 3, 7]


def test_every_board_profile_leaves_the_capture_thread_a_core():
    for p in load_profiles().values():
        if p.cores is not None:
            assert p.threads is not None and p.threads <= p.cores - 1, p.name


def test_pi_profiles_use_picamera2_and_coral_dev_board_pcie():
    assert get_profile("coral-dev-board").edgetpu == "pci"
    assert {get_profile(n).camera for n in ("rpi-zero-2w", "rpi-3b-plus", "rpi-4b", "rpi-5")} == {"picamera2"}


@pytest.mark.parametrize(("field", "value", "match"), [
    ("threads", 8, "threads must be between 1 and cores"),
    ("lores_format", "RGB24", "lores_format must be one of"),
    ("kind", "gadget", "kind must be one of"),
    ("edgetpu", "m2", "edgetpu must be one of"),
])
def test_invalid_profiles_are_rejected_with_valid_choices(field, value, match):
    data = _roundtrip(get_profile("rpi-4b"))
    data[field] = value
    with pytest.raises(BoardProfileError, match=match):
        BoardProfile.from_dict(data)


def test_unknown_key_is_rejected():
    with pytest.raises(BoardProfileError, match="unknown keys.*'thread'"):
        BoardProfile.from_dict({**_roundtrip(get_profile("rpi-4b")), "thread": 2})


def test_unknown_board_lists_valid_names():
    with pytest.raises(BoardProfileError, match="Unknown board 'pi4'.*rpi-4b"):
        get_profile("pi4")


def test_latency_band_and_missing_reference():
    assert check_latency("linux-x86_64", "efficientnet_lite0_224_int8", 3.5).status == "ok"
    assert check_latency("linux-x86_64", "efficientnet_lite0_224_int8", 4.1).status == "slower"
    assert check_latency("linux-x86_64", "efficientnet_lite0_224_int8", 2.0).status == "faster"
    missing = check_latency("rpi-4b", "efficientnet_lite0_224_int8", 30.0)
    assert missing.status == "missing" and missing.ratio is None and "No reference" in missing.message


def test_cli_boards_list_show_detect(tmp_path):
    names = [json.loads(line)["name"] for line in run_cli("boards", "list", "--json", check=True).stdout.splitlines()]
    assert set(names) >= REQUIRED
    shown = run_cli("boards", "show", "rpi-5", check=True).stdout
    assert "RGB888" in shown and "python3-picamera2" in shown
    write_tree(tmp_path, TREES["rpi-3b-plus"], CORAL_USB_READY)
    out = json.loads(run_cli("boards", "detect", "--json", "--root", str(tmp_path), check=True).stdout)
    assert out["board"] == "rpi-3b-plus" and out["accessories"] == ["coral-usb"]
    assert out["defaults"]["device"] == "usb" and out["facts"]["revision"] == "a020d3"
    bad = run_cli("boards", "show", "nope")
    assert bad.returncode == 1 and "Unknown board 'nope'" in bad.stderr
