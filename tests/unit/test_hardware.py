"""Edge TPU enumeration reads recorded /sys and /dev trees: both USB states, PCIe nodes, and nothing else."""

from __future__ import annotations

from pathlib import Path

from edgeml.hardware import list_edgetpus, read_text


def _usb(root: Path, name: str, vendor: str, product: str) -> None:
    d = root / "sys" / "bus" / "usb" / "devices" / name
    d.mkdir(parents=True)
    (d / "idVendor").write_text(vendor + "\n")
    (d / "idProduct").write_text(product + "\n")


def test_usb_accelerator_in_both_states_and_other_usb_devices_ignored(tmp_path):
    _usb(tmp_path, "1-1", "1d6b", "0002")  # a root hub
    _usb(tmp_path, "2-1", "1a6e", "089a")  # Coral before firmware load
    _usb(tmp_path, "2-2", "18d1", "9302")  # Coral after firmware load
    found = list_edgetpus(tmp_path)
    assert [(d.kind, d.state, d.delegate_device) for d in found] == [
        ("usb", "bootloader", "usb:0"), ("usb", "ready", "usb:1")]
    assert found[0].path.endswith("2-1")


def test_pcie_apex_nodes_in_numeric_order(tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    for n in ("apex_10", "apex_0", "apex_1", "video0"):
        (dev / n).touch()
    found = list_edgetpus(tmp_path)
    assert [Path(d.path).name for d in found] == ["apex_0", "apex_1", "apex_10"]
    assert [d.delegate_device for d in found] == ["pci:0", "pci:1", "pci:2"]


def test_empty_or_missing_tree_has_no_edgetpu(tmp_path):
    assert list_edgetpus(tmp_path) == []
    assert list_edgetpus(tmp_path / "does-not-exist") == []


def test_read_text_strips_device_tree_nul(tmp_path):
    f = tmp_path / "model"
    f.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    assert read_text(f) == "Raspberry Pi 4 Model B Rev 1.4"
    assert read_text(tmp_path / "missing") is None
