"""Open a model on a Coral Edge TPU through the interpreter's ``load_delegate`` and explain every failure.

``libedgetpu.so.1`` (Debian package ``libedgetpu1-std`` or ``-max`` from Coral's apt repository) is loaded with
``load_delegate("libedgetpu.so.1", {"device": "usb:0"})``; no pycoral. When that fails, the interpreter only says
"Failed to load delegate from libedgetpu.so.1", so this module then probes (library loadable? which Edge TPUs are
attached? can this user open their device nodes?) and raises :class:`~edgeml.errors.EdgeTpuError` with the fix.
The probe runs only after a failure: a working TPU costs nothing extra.

Devices: ``"usb"``, ``"usb:N"``, ``"pci"``, ``"pci:N"``, ``"auto"`` (the first Edge TPU found), ``"cpu"``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeml.errors import EdgemlError, EdgeTpuError
from edgeml.hardware import EdgeTpuDevice, edgetpu_node, list_edgetpus
from edgeml.interpreter import Backend, load_backend, open_interpreter

__all__ = ["DEVICES", "Opened", "Probe", "diagnose", "is_compiled_for_edgetpu", "load_edgetpu_delegate",
           "open_for_device", "parse_device", "runtime_error", "runtime_mismatch"]

log = logging.getLogger(__name__)

DEVICES = ("cpu", "auto", "usb", "usb:N", "pci", "pci:N")
LIBRARY = {"darwin": "libedgetpu.1.dylib", "win32": "edgetpu.dll"}.get(sys.platform, "libedgetpu.so.1")
_APT = ('add Coral\'s apt repository (echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | '
        "sudo tee /etc/apt/sources.list.d/coral-edgetpu.list; curl https://packages.cloud.google.com/apt/doc/"
        "apt-key.gpg | sudo apt-key add -; sudo apt-get update)")
_RUNTIME = re.compile(r"requires runtime version \((\d+)\).*?this runtime version \((\d+)\)", re.S)


def parse_device(device: str) -> tuple[str, int | None]:
    """``"usb:1"`` → ``("usb", 1)``; ``"auto"`` → ``("auto", None)``.

    Raises:
        ValueError: Not one of :data:`DEVICES`.
    """
    m = re.fullmatch(r"(cpu|auto|usb|pci)(?::(\d+))?", device or "")
    if not m or (m.group(2) is not None and m.group(1) in ("cpu", "auto")):
        raise ValueError(f"device must be one of {', '.join(DEVICES)}. Received: {device!r}")
    return m.group(1), int(m.group(2)) if m.group(2) is not None else None


def is_compiled_for_edgetpu(path: str | os.PathLike[str]) -> bool:
    """True when the model holds an ``edgetpu-custom-op`` (written by edgetpu_compiler): it needs the TPU."""
    return b"edgetpu-custom-op" in Path(path).read_bytes()


def runtime_mismatch(message: str) -> tuple[int, int] | None:
    """``(required, installed)`` from libedgetpu's "Package requires runtime version (14), which is newer than this
    runtime version (13)" message, else None."""
    m = _RUNTIME.search(message)
    return (int(m.group(1)), int(m.group(2))) if m else None


def runtime_error(path: str | os.PathLike[str], mismatch: tuple[int, int]) -> EdgeTpuError:
    """The error for a model compiled for a newer Edge TPU runtime than the installed libedgetpu."""
    required, installed = mismatch
    return EdgeTpuError(
        f"{str(path)!r} was compiled for Edge TPU runtime {required}, newer than the installed runtime {installed}. "
        "Fix: upgrade it (sudo apt-get update && sudo apt-get install libedgetpu1-std), or recompile on the host "
        f"with edgetpu_compiler -m {installed} (edgeml convert --target edgetpu --min-runtime {installed}).",
        "runtime_too_old")


@dataclass(frozen=True)
class Probe:
    """What was found after the delegate failed to load."""

    library: str
    library_error: str | None = None  # why the library cannot be loaded; None when it can
    runtime_version: str | None = None
    devices: tuple[EdgeTpuDevice, ...] = ()
    inaccessible: tuple[str, ...] = ()  # device nodes this user cannot open read-write
    delegate_error: str = ""


def _library_version(library: str) -> str | None:
    """Load ``library`` with ctypes and return its ``edgetpu_version()`` string. Raises OSError when missing."""
    lib = ctypes.CDLL(library)
    try:
        fn = lib.edgetpu_version
    except AttributeError:
        return None
    fn.restype = ctypes.c_char_p
    value = fn()
    return value.decode("utf-8", "replace") if value else None


def diagnose(probe: Probe, device: str) -> EdgeTpuError:
    """Turn what :class:`Probe` found into the error that names the fix (pure; table-tested)."""
    kind, index = parse_device(device)
    if probe.library_error is not None:
        return EdgeTpuError(
            f"The Edge TPU runtime {probe.library} cannot be loaded ({probe.library_error}). Install it: {_APT}, "
            "then sudo apt-get install libedgetpu1-std (or libedgetpu1-max), and unplug/replug the USB "
            "Accelerator. Or pass fallback='cpu' to run on the CPU.", "library_missing")
    wanted = [d for d in probe.devices if kind == "auto" or d.kind == kind]
    found = ", ".join(f"{d.delegate_device} ({d.state})" for d in probe.devices) or "none"
    if not wanted or (index is not None and index >= len(wanted)):
        return EdgeTpuError(
            f"No Edge TPU for device={device!r} (found: {found}; looked for USB 1a6e:089a / 18d1:9302 and "
            "/dev/apex_N). Fix: plug the USB Accelerator in (lsusb lists 1a6e:089a or 18d1:9302; use a USB 3 port "
            "and the supplied cable); for PCIe/M.2 install gasket-dkms from Coral's apt repository and reboot. "
            "Or pass fallback='cpu' to run on the CPU.", "no_device")
    if probe.inaccessible:
        return EdgeTpuError(
            f"The Edge TPU is attached but this user cannot open {', '.join(probe.inaccessible)} (permission). "
            "Fix: USB: libedgetpu1-std installs the udev rule (/etc/udev/rules.d/99-edgetpu-accelerator.rules); "
            "run sudo usermod -aG plugdev $USER, unplug/replug and log in again. PCIe: sudo groupadd apex; "
            "sudo usermod -aG apex $USER; add the rule SUBSYSTEM==\"apex\", MODE=\"0660\", GROUP=\"apex\" "
            "to /etc/udev/rules.d/65-apex.rules and reboot.", "permission")
    version = f" ({probe.runtime_version})" if probe.runtime_version else ""
    return EdgeTpuError(
        f"Failed to load the Edge TPU delegate from {probe.library}{version} for device={device!r} "
        f"(found: {found}): {probe.delegate_error.strip()}. Fix: unplug/replug the USB Accelerator (or reboot "
        "after installing the runtime or the PCIe driver), check `dmesg` for USB or apex errors, and make sure no "
        "other process holds the TPU.", "delegate_failed")


def _probe(library: str, delegate_error: str, root: str | os.PathLike[str],
           library_version: Callable[[str], str | None]) -> Probe:
    try:
        version, library_error = library_version(library), None
    except OSError as exc:
        version, library_error = None, str(exc)
    devices = tuple(list_edgetpus(root))
    nodes = [edgetpu_node(d, root) for d in devices]
    inaccessible = tuple(n for n in nodes if n and os.path.exists(n) and not os.access(n, os.R_OK | os.W_OK))
    return Probe(library, library_error, version, devices, inaccessible, delegate_error)


def load_edgetpu_delegate(
    device: str = "auto",
    *,
    load_delegate: Callable[..., Any] | None = None,
    library: str = LIBRARY,
    root: str | os.PathLike[str] = "/",
    library_version: Callable[[str], str | None] = _library_version,
) -> Any:
    """Return the Edge TPU delegate for ``device`` (``"usb"``, ``"usb:0"``, ``"pci:0"``, ``"auto"``).

    Args:
        load_delegate: The interpreter package's ``load_delegate(library, options)``; default: the chosen backend's.
        library: The runtime library file name.
        root: File-system root where attached devices are looked up (recorded trees in tests).
        library_version: Loads the library and returns its version string (raises OSError when missing).

    Raises:
        EdgeTpuError: With ``reason`` ``library_missing``, ``no_device``, ``permission`` or ``delegate_failed``.
        ValueError: ``device`` is not a valid device string.
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        raise ValueError("device='cpu' needs no delegate; call open_interpreter without one.")
    options = {} if kind == "auto" else {"device": kind if index is None else f"{kind}:{index}"}
    load = load_delegate or load_backend().load_delegate
    try:
        return load(library, options)
    except (ValueError, RuntimeError, OSError) as exc:
        _release_failed_delegate(exc)
        raise diagnose(_probe(library, str(exc), root, library_version), device) from exc


def _release_failed_delegate(exc: BaseException) -> None:
    """Free the half-built delegate held by ``exc``'s traceback now, silencing its ``__del__``.

    LiteRT's ``Delegate.__del__`` raises AttributeError when ``__init__`` failed; left to a later garbage
    collection it prints "Exception ignored in Delegate.__del__" at a random point (and can upset CPython 3.11).
    """
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        exc.__traceback__ = None
    finally:
        sys.unraisablehook = hook


@dataclass
class Opened:
    """An interpreter opened for a device: which device and which model file actually run."""

    interpreter: Any
    backend: Backend
    device: str
    model_path: Path
    notes: list[str] = field(default_factory=list)


def _cpu_model(path: Path, error: EdgeTpuError) -> Path:
    if not is_compiled_for_edgetpu(path):
        return path
    sibling = path.with_name(path.name.replace("_edgetpu.tflite", ".tflite"))
    if sibling != path and sibling.is_file():
        return sibling
    raise EdgeTpuError(f"{error} The CPU fallback needs the model from before edgetpu_compiler; {str(path)!r} "
                       f"runs only on the Edge TPU and {str(sibling)!r} does not exist.", error.reason) from error


def open_for_device(
    model: str | os.PathLike[str],
    *,
    device: str = "cpu",
    fallback: str | None = None,
    num_threads: int | None = None,
    delegates: list[Any] | None = None,
    backend: str = "auto",
    root: str | os.PathLike[str] = "/",
) -> Opened:
    """Open ``model`` on ``device``; with ``fallback="cpu"`` an unusable Edge TPU means the CPU, with a warning.

    Raises:
        EdgeTpuError: The Edge TPU cannot be used (and no fallback was asked), or an ``_edgetpu`` model was asked
            to run on the CPU, or the model needs a newer Edge TPU runtime than installed.
        ValueError: Unknown ``device`` or ``fallback``.
    """
    kind, _ = parse_device(device)
    if fallback not in (None, "cpu"):
        raise ValueError(f"fallback must be None or 'cpu'. Received: {fallback!r}")
    path = Path(model)
    compiled = path.is_file() and is_compiled_for_edgetpu(path)
    if kind == "cpu":
        if compiled:
            sibling = path.with_name(path.name.replace("_edgetpu.tflite", ".tflite"))
            raise EdgeTpuError(
                f"{str(path)!r} was compiled by edgetpu_compiler (it contains edgetpu-custom-op) and runs only on an "
                f"Edge TPU, but device='cpu'. Fix: pass device='usb', 'pci' or 'auto' with a Coral attached, or run "
                f"the model from before compilation ({sibling.name}) on the CPU.", "compiled_model_needs_tpu")
        interpreter, chosen = open_interpreter(path, num_threads=num_threads, delegates=delegates, backend=backend)
        return Opened(interpreter, chosen, "cpu", path)
    chosen_backend = load_backend(backend)
    try:
        delegate = load_edgetpu_delegate(device, load_delegate=chosen_backend.load_delegate, root=root)
        try:
            interpreter, chosen = open_interpreter(path, num_threads=num_threads, backend=backend,
                                                   delegates=[*(delegates or []), delegate])
        except (EdgemlError, ValueError, RuntimeError) as exc:
            mismatch = runtime_mismatch(str(exc))
            if mismatch is None:
                raise
            raise runtime_error(path, mismatch) from exc
    except EdgeTpuError as exc:
        if fallback != "cpu":
            raise
        cpu_path = _cpu_model(path, exc)
        log.warning("Edge TPU unavailable (%s); running %s on the CPU because fallback='cpu'. %s",
                    exc.reason, cpu_path, exc)
        interpreter, chosen = open_interpreter(cpu_path, num_threads=num_threads, delegates=delegates,
                                               backend=backend)
        return Opened(interpreter, chosen, "cpu", cpu_path, [f"fell back to the CPU: {exc.reason}"])
    opened = Opened(interpreter, chosen, device, path)
    if not compiled:
        note = (f"{path.name} is not compiled for the Edge TPU, so every op runs on the CPU. Compile it: "
                "edgeml convert --target edgetpu, or edgetpu_compiler on an x86-64 host.")
        log.warning(note)
        opened.notes.append(note)
    return opened
