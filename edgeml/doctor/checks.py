"""The individual ``edgeml doctor`` checks. Each returns one or more :class:`~edgeml.doctor.finding.Finding`.

Nothing here imports the camera stack or dlopens libedgetpu (a wedged USB device can hang that): libraries are
*found* (ctypes.util.find_library, ldconfig, known paths) and Python packages are *located* (importlib.util).
"""

from __future__ import annotations

import ctypes.util
import glob
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from edgeml.boards.detect import Detection
from edgeml.doctor.finding import Finding
from edgeml.edgetpu import install
from edgeml.hardware import read_text
from edgeml.settings import resolve_settings

_LIBEDGETPU_DIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "usr/lib/arm-linux-gnueabihf",
                    "usr/lib", "usr/local/lib")
# get_throttled bits (Raspberry Pi firmware): now (0-3) and since boot (16-19).
_THROTTLE_BITS = {0: "under-voltage now", 1: "ARM frequency capped now", 2: "throttled now",
                  3: "soft temperature limit now", 16: "under-voltage since boot", 17: "frequency capped since boot",
                  18: "throttled since boot", 19: "soft temperature limit since boot"}


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def board_finding(d: Detection) -> Finding:
    extra = f" + {', '.join(a.title for a in d.accessories)}" if d.accessories else ""
    return Finding("board", "ok", f"{d.board.title}{extra} [{d.board.name}]: {d.reason}",
                   details=(("board", d.board.name), ("accessories", [a.name for a in d.accessories])))


def settings_finding(d: Detection) -> Finding:
    """What ``edgeml classify`` will run with here by default, and where each value comes from."""
    settings = resolve_settings(board=d, source="camera" if d.board.source else None)
    shown = {"threads": settings.threads or "interpreter's", "device": settings.device,
             "fallback": settings.fallback or "none", "source": settings.source or "none"}
    text = "; ".join(f"{k} {v} ({settings.origin(k)})" for k, v in shown.items())
    return Finding("settings", "ok", f"defaults for edgeml classify: {text}",
                   details=(("settings", settings.to_dict()),))


def _userland_arch() -> str:
    """The running Python's architecture: what pip wheels must match (not the kernel's, not the CPU's).

    Raspberry Pi OS 32-bit runs a 64-bit kernel on Pi 4/5, so ``uname -m`` says aarch64 over an armhf userland.
    """
    machine = platform.machine()
    if struct.calcsize("P") == 4 and machine in {"aarch64", "arm64", "armv8l"}:
        return "armv7l"
    return machine


def check_python(root: Path, d: Detection | None) -> list[Finding]:
    v = sys.version_info
    pretty = "unknown OS"
    for line in (read_text(root / "etc" / "os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            pretty = line.split("=", 1)[1].strip('"')
    arch = _userland_arch() if root.resolve() == Path("/").resolve() else (d.facts.arch if d else None) or "?"
    py = f"Python {v.major}.{v.minor}.{v.micro} ({sys.executable})"
    out = [Finding("python", "ok", py, details=(("python", f"{v.major}.{v.minor}.{v.micro}"),))
           if (3, 10) <= v[:2] <= (3, 13) else
           Finding("python", "fail", f"{py}: edgeml and ai-edge-litert need Python 3.10-3.13",
                   "Install Python 3.11 (Raspberry Pi OS Bookworm's python3) and make a new venv with it")]
    if arch in {"armv7l", "armv6l"}:
        out.append(Finding("os", "fail", f"{pretty}, {arch}: a 32-bit OS; ai-edge-litert has no 32-bit ARM wheels",
                           "Flash Raspberry Pi OS Bookworm 64-bit (Raspberry Pi Imager: 'Raspberry Pi OS (64-bit)')",
                           details=(("os", pretty), ("arch", arch))))
    else:
        out.append(Finding("os", "ok", f"{pretty}, {arch}", details=(("os", pretty), ("arch", arch))))
    return out


def check_interpreter() -> list[Finding]:
    from edgeml.errors import InterpreterUnavailableError
    from edgeml.interpreter import load_backend, tflite_runtime_problem

    numpy_v = _version("numpy") or "missing"
    versions = {"ai-edge-litert": _version("ai-edge-litert"), "tflite-runtime": _version("tflite-runtime"),
                "tensorflow": _version("tensorflow") or _version("tensorflow-cpu"), "numpy": numpy_v}
    details = tuple((k, v) for k, v in versions.items())
    out = []
    problem = versions["tflite-runtime"] and tflite_runtime_problem(versions["tflite-runtime"], numpy_v)
    if problem:
        out.append(Finding("numpy-abi", "warn", problem, 'pip uninstall tflite-runtime (edgeml uses ai-edge-litert)'))
    else:
        out.append(Finding("numpy-abi", "ok", f"numpy {numpy_v}; no installed interpreter package needs another "
                           "numpy ABI", details=(("numpy", numpy_v),)))
    try:
        backend = load_backend("auto")
    except InterpreterUnavailableError as exc:
        out.append(Finding("interpreter", "fail", str(exc), "pip install ai-edge-litert", details))
        return out
    if backend.name == "ai_edge_litert":
        out.append(Finding("interpreter", "ok", f"ai-edge-litert {versions['ai-edge-litert']} (LiteRT) imports",
                           details=(("backend", backend.name), *details)))
    else:
        out.append(Finding("interpreter", "warn", f"using {backend.name}: works, but not maintained for devices",
                           "pip install ai-edge-litert", (("backend", backend.name), *details)))
    return out


def find_libedgetpu(root: Path) -> tuple[str | None, str | None]:
    """Return ``(path_or_name, version)`` of libedgetpu without loading it; ``(None, None)`` when absent."""
    for d in _LIBEDGETPU_DIRS:
        hits = sorted(glob.glob(str(root / d / "libedgetpu.so.1*")))
        if hits:
            real = os.path.realpath(hits[0])
            version = real.rsplit("libedgetpu.so.", 1)[-1] if "libedgetpu.so." in real else None
            return hits[0], _dpkg_version(root) or version
    if root.resolve() == Path("/").resolve():
        name = ctypes.util.find_library("edgetpu")  # runs ldconfig -p; never dlopens
        if name:
            return name, _dpkg_version(root)
    return None, None


def _dpkg_version(root: Path) -> str | None:
    if root.resolve() != Path("/").resolve() or not shutil.which("dpkg-query"):
        return None
    for pkg in ("libedgetpu1-std", "libedgetpu1-max"):
        proc = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True,
                              timeout=10, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return f"{pkg} {proc.stdout.strip()}"
    return None


def usb_node_problem(st_mode: int, st_uid: int, st_gid: int, uid: int, groups: set[int]) -> bool:
    """Return True when a process with ``uid``/``groups`` cannot read and write a device node of that mode."""
    if uid == 0:
        return False
    if st_uid == uid:
        return (st_mode & 0o600) != 0o600
    if st_gid in groups:
        return (st_mode & 0o060) != 0o060
    return (st_mode & 0o006) != 0o006


def _node_ok(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return not usb_node_problem(st.st_mode, st.st_uid, st.st_gid, os.geteuid(), set(os.getgroups()))


def check_edgetpu(root: Path, d: Detection | None) -> list[Finding]:
    tpus = list(d.facts.edgetpus) if d else []
    wanted = bool(tpus) or (d is not None and d.board.edgetpu != "none")
    lib, version = find_libedgetpu(root)
    out = []
    if lib:
        out.append(Finding("libedgetpu", "ok", f"found {lib}" + (f" ({version})" if version else ""),
                           details=(("path", lib), ("version", version))))
    elif wanted:
        out.append(Finding("libedgetpu", "warn", "an Edge TPU is present but libedgetpu.so.1 is not installed: "
                           "models run on the CPU only", install.RUNTIME))
    else:
        out.append(Finding("libedgetpu", "ok", "not installed (no Edge TPU here; needed only with one)",
                           details=(("path", None),)))
    for t in tpus:
        if t.kind == "usb":
            bus, dev = read_text(Path(t.path) / "busnum"), read_text(Path(t.path) / "devnum")
            node = root / "dev" / "bus" / "usb" / f"{int(bus or 0):03d}" / f"{int(dev or 0):03d}"
            if bus and dev and not _node_ok(node):
                out.append(Finding("edgetpu-access", "fail" if lib else "warn",
                                   f"{t.delegate_device}: no read/write permission on {node}",
                                   "Install libedgetpu1-std (its udev rule grants access), then unplug and replug "
                                   "the accelerator; or: sudo usermod -aG plugdev $USER and log in again"))
                continue
            note = " (firmware not loaded yet: normal until first use)" if t.state == "bootloader" else ""
            out.append(Finding("edgetpu-access", "ok", f"{t.delegate_device} at {t.path}{note}"))
        else:
            ok = _node_ok(Path(t.path))
            out.append(Finding("edgetpu-access", "ok" if ok else "fail", f"{t.delegate_device} {t.path}"
                               + ("" if ok else ": no read/write permission"), "" if ok else
                               "sudo groupadd -f apex && sudo usermod -aG apex $USER; add the udev rule "
                               "SUBSYSTEM==\"apex\", MODE=\"0660\", GROUP=\"apex\" and reboot"))
    return out


def check_camera(root: Path, d: Detection | None) -> list[Finding]:
    camera = d.board.camera if d else "v4l2"
    if camera == "picamera2":
        if importlib.util.find_spec("picamera2") and importlib.util.find_spec("libcamera"):
            return [Finding("camera", "ok", "picamera2 and libcamera are importable from this Python")]
        system = (root / "usr" / "lib" / "python3" / "dist-packages" / "picamera2").is_dir()
        in_venv = sys.prefix != sys.base_prefix
        if system and in_venv:
            return [Finding("camera", "fail", f"python3-picamera2 is installed system-wide but this venv "
                            f"({sys.prefix}) does not see system site-packages",
                            f"python3 -m venv --system-site-packages {sys.prefix} (recreates the venv config; "
                            "then pip install edgeml again), or set include-system-site-packages = true in "
                            f"{sys.prefix}/pyvenv.cfg")]
        return [Finding("camera", "fail", "picamera2 is not importable: the Pi camera cannot be used",
                        "sudo apt install python3-picamera2, and use a venv made with "
                        "`python3 -m venv --system-site-packages`")]
    videos = sorted(glob.glob(str(root / "dev" / "video*")))
    has_cv2 = importlib.util.find_spec("cv2") is not None
    if not videos:
        return [Finding("camera", "warn", "no /dev/video* device: only video files and image folders can be "
                        "classified" + ("" if has_cv2 else "; OpenCV (cv2) is not installed either"),
                        "Plug in a USB (UVC) camera" + ("" if has_cv2 else ' and pip install "edgeml[opencv]"'))]
    if not has_cv2:
        return [Finding("camera", "warn", f"{len(videos)} V4L2 device(s) but OpenCV is not installed",
                        'pip install "edgeml[opencv]"')]
    return [Finding("camera", "ok", f"V4L2 devices: {', '.join(Path(v).name for v in videos)}; cv2 importable")]


def check_governor(root: Path) -> Finding:
    gov = read_text(root / "sys" / "devices" / "system" / "cpu" / "cpu0" / "cpufreq" / "scaling_governor")
    if gov is None:
        return Finding("cpu-governor", "ok", "cpufreq not exposed (VM or fixed clock)")
    if gov == "powersave":
        return Finding("cpu-governor", "warn", "CPU governor is powersave: inference runs at the lowest clock",
                       "echo ondemand | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor")
    return Finding("cpu-governor", "ok", f"CPU governor {gov}", details=(("governor", gov),))


def check_throttling(root: Path) -> Finding:
    raw = read_text(root / "sys" / "devices" / "platform" / "soc" / "soc:firmware" / "get_throttled")
    if raw is None and root.resolve() == Path("/").resolve() and shutil.which("vcgencmd"):
        proc = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=10,
                              check=False)
        raw = proc.stdout.strip().rpartition("=")[2] or None
    if raw is None:
        return Finding("throttling", "ok", "not exposed on this machine (no Raspberry Pi firmware)")
    try:
        value = int(raw, 16)
    except ValueError:
        return Finding("throttling", "ok", f"unreadable get_throttled value {raw!r}")
    flags = [text for bit, text in _THROTTLE_BITS.items() if value & (1 << bit)]
    if not flags:
        return Finding("throttling", "ok", "no under-voltage or throttling since boot (0x0)")
    return Finding("throttling", "warn", f"get_throttled=0x{value:x}: {', '.join(flags)}",
                   "Use the official power supply (Pi 4: 5.1 V 3 A, Pi 5: 5.1 V 5 A) and a heatsink or fan")


def check_disk(root: Path) -> Finding:
    free_mb = shutil.disk_usage(root).free // (1 << 20)
    if free_mb < 200:
        return Finding("disk", "fail", f"{free_mb} MB free", "Free disk space: sudo apt clean; pip cache purge")
    if free_mb < 1024:
        return Finding("disk", "warn", f"only {free_mb} MB free", "sudo apt clean; pip cache purge")
    return Finding("disk", "ok", f"{free_mb} MB free", details=(("free_mb", free_mb),))


def check_memory(root: Path) -> Finding:
    avail = None
    for line in (read_text(root / "proc" / "meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            avail = int(line.split()[1]) // 1024
    if avail is None:
        return Finding("memory", "ok", "MemAvailable not reported")
    if avail < 100:
        return Finding("memory", "fail", f"{avail} MB available", "Stop other services or add swap (dphys-swapfile)")
    if avail < 256:
        return Finding("memory", "warn", f"{avail} MB available: large models may not fit",
                       "Use the Lite OS image, stop the desktop (sudo systemctl set-default multi-user.target)")
    return Finding("memory", "ok", f"{avail} MB available", details=(("available_mb", avail),))
