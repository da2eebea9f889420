"""Recorded /proc, /sys and /dev contents of real boards, written out as file trees for ``--root`` tests.

Each cpuinfo below is a public dump, cited where it was taken from (device-tree ``model`` strings equal the
``Model`` line of the same dump on Raspberry Pi kernels). Lines are reproduced as printed, tabs as spaces where the
source showed spaces. ``meminfo`` holds only ``MemTotal``, set from the board's RAM size (not from the dump).
"""

from __future__ import annotations

from pathlib import Path


def _cores(block: str, n: int = 4) -> str:
    """Repeat one per-core block ``n`` times with its processor number (the dumps show identical cores)."""
    return "\n".join(f"processor\t: {i}\n{block.strip()}\n" for i in range(n))


_A53_V8 = """BogoMIPS\t: 38.40
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4"""

_A72_V8 = """BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3"""

TREES: dict[str, dict[str, str | bytes]] = {
    # gpiozero/gpiozero#1091 (2023-10-13): Pi Zero 2 W on Raspberry Pi OS 32-bit: ARMv7 kernel, Revision 902120.
    "rpi-zero-2w": {
        "proc/device-tree/model": b"Raspberry Pi Zero 2 W Rev 1.0\x00",
        "proc/cpuinfo": _cores("""model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer\t: 0x41
CPU architecture: 7
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4""") + """
Hardware\t: BCM2835
Revision\t: 902120
Serial\t\t: 000000008f249728
Model\t\t: Raspberry Pi Zero 2 W Rev 1.0
""",
        "proc/meminfo": "MemTotal:         439592 kB\n",
    },
    # hrw/arm-socs-table#29 (2022-11-14): Pi 3 B+ on a 64-bit kernel, Revision a020d3.
    "rpi-3b-plus": {
        "proc/device-tree/model": b"Raspberry Pi 3 Model B Plus Rev 1.3\x00",
        "proc/cpuinfo": _cores(_A53_V8) + """
Hardware\t: BCM2835
Revision\t: a020d3
Serial\t\t: 00000000e4bc4f5f
Model\t\t: Raspberry Pi 3 Model B Plus Rev 1.3
""",
        "proc/meminfo": "MemTotal:         929040 kB\n",
    },
    # nicolargo/glances#2616 and fastfetch-cli/fastfetch#1529: Pi 4 B Rev 1.5 (8 GB, d03115), 64-bit kernel: no
    # Hardware line on arm64.
    "rpi-4b": {
        "proc/device-tree/model": b"Raspberry Pi 4 Model B Rev 1.5\x00",
        "proc/cpuinfo": _cores(_A72_V8) + """
Revision\t: d03115
Serial\t\t: 100000000fe69593
Model\t\t: Raspberry Pi 4 Model B Rev 1.5
""",
        "proc/meminfo": "MemTotal:        7997148 kB\n",
    },
    # hrw/arm-socs-table#96 (2023-09-28): Pi 5 Model B Rev 1.0, BCM2712 (Cortex-A76 r4p1), Revision d04170.
    "rpi-5": {
        "proc/device-tree/model": b"Raspberry Pi 5 Model B Rev 1.0\x00",
        "proc/cpuinfo": _cores("""BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x4
CPU part\t: 0xd0b
CPU revision\t: 1""") + """
Hardware\t: BCM2835
Revision\t: d04170
Serial\t\t: 48343bbbe3ae743b
Model\t\t: Raspberry Pi 5 Model B Rev 1.0
""",
        "proc/meminfo": "MemTotal:         8245856 kB\n",
    },
    # google-coral/edgetpu#688 (Dev Board boot log): "Machine model: Freescale i.MX8MQ Phanbell", "Boot CPU: AArch64
    # Processor [410fd034]" (MIDR: implementer 0x41, variant 0x0, part 0xd03, revision 4). The cpuinfo is rebuilt
    # from that MIDR (no public cpuinfo dump of the board was found); /dev/apex_0 is the PCIe Edge TPU node.
    "coral-dev-board": {
        "proc/device-tree/model": b"Freescale i.MX8MQ Phanbell\x00",
        "proc/cpuinfo": _cores("""BogoMIPS\t: 16.66
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4"""),
        "proc/meminfo": "MemTotal:         1013868 kB\n",
        "dev/apex_0": "",
    },
    # Dev Board Mini: SoC MediaTek MT8167S (Coral datasheet; Yocto machine "mt8167-coral"), 4x Cortex-A35 (part
    # 0xd04). No public dump of its device-tree model was found: the string below is RECONSTRUCTED around the
    # "MT8167" marker Coral's examples test for. Its Edge TPU is on USB (here after firmware load, 18d1:9302).
    "coral-dev-board-mini": {
        "proc/device-tree/model": b"MediaTek MT8167 Coral Board\x00",
        "proc/cpuinfo": _cores("""BogoMIPS\t: 26.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd04
CPU revision\t: 2"""),
        "proc/meminfo": "MemTotal:         2001992 kB\n",
        "sys/bus/usb/devices/usb1/idVendor": "1d6b\n",
        "sys/bus/usb/devices/usb1/idProduct": "0002\n",
        "sys/bus/usb/devices/1-1/idVendor": "18d1\n",
        "sys/bus/usb/devices/1-1/idProduct": "9302\n",
        "sys/bus/usb/devices/1-1/busnum": "1\n",
        "sys/bus/usb/devices/1-1/devnum": "2\n",
    },
    # Recorded on this project's x86-64 machine (AMD EPYC VM, 2 cores, 24 GB): first lines of each core's block.
    "linux-x86_64": {
        "proc/cpuinfo": "".join(f"""processor\t: {i}
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
cpu MHz\t\t: 2596.134
cache size\t: 1024 KB
physical id\t: 0
siblings\t: 2
core id\t\t: {i}
cpu cores\t: 2

""" for i in range(2)),
        "proc/meminfo": "MemTotal:       24684084 kB\nMemAvailable:   23808796 kB\n",
        "sys/bus/usb/devices/usb1/idVendor": "1d6b\n",
        "sys/bus/usb/devices/usb1/idProduct": "0002\n",
    },
    # hrw/arm-socs-table#130 (2025-10-22): MediaTek MT7981B (Xiaomi AX3000T), 2x Cortex-A53, as an aarch64 board
    # that is none of ours. The dump has no device-tree model, so none is written.
    "linux-aarch64": {
        "proc/cpuinfo": _cores("""BogoMIPS\t: 26.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4""", n=2),
        "proc/meminfo": "MemTotal:         241596 kB\n",
    },
}

# A Coral USB Accelerator as it enumerates on a fresh plug-in (Global Unichip 1a6e:089a, before libedgetpu loads
# its firmware; FIELD_NOTES.md / Coral docs), as USB device 2-1 on the host's USB 3 bus.
CORAL_USB_BOOTLOADER: dict[str, str | bytes] = {
    "sys/bus/usb/devices/usb2/idVendor": "1d6b\n",
    "sys/bus/usb/devices/usb2/idProduct": "0003\n",
    "sys/bus/usb/devices/2-1/idVendor": "1a6e\n",
    "sys/bus/usb/devices/2-1/idProduct": "089a\n",
    "sys/bus/usb/devices/2-1/busnum": "2\n",
    "sys/bus/usb/devices/2-1/devnum": "2\n",
    "dev/bus/usb/002/002": "",
}
# The same accelerator after firmware load: it re-enumerates as Google 18d1:9302.
CORAL_USB_READY: dict[str, str | bytes] = {
    **{k: v for k, v in CORAL_USB_BOOTLOADER.items() if "2-1/id" not in k},
    "sys/bus/usb/devices/2-1/idVendor": "18d1\n",
    "sys/bus/usb/devices/2-1/idProduct": "9302\n",
}


def write_tree(root: Path, *parts: dict[str, str | bytes]) -> Path:
    """Write the merged file trees ``parts`` under ``root`` and return ``root``."""
    for part in parts:
        for rel, content in part.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
    return root
