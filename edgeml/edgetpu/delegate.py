"""Load the Coral Edge TPU delegate through the interpreter's ``load_delegate`` and explain every failure.

``libedgetpu.so.1`` (Debian package ``libedgetpu1-std`` or ``-max`` from Coral's apt repository) is loaded with
``load_delegate("libedgetpu.so.1", {"device": "usb:0"})``; no pycoral. When that fails, the interpreter only says
"Failed to load delegate from libedgetpu.so.1", so this module then probes (library loadable? which Edge TPUs are
attached? can this user open their device nodes?) and raises :class:`~edgeml.errors.EdgeTpuError` with the fix.
The probe runs only after a failure: a working TPU costs nothing extra.

Devices: ``"usb"``, ``"usb:N"``, ``"pci"``, ``"pci:N"``, ``"auto"`` (the first Edge TPU found); opening a model on
one (and the CPU fallback) is :func:`edgeml.interpreter.open_model`.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeml.edgetpu import install
from edgeml.errors import EdgeTpuError, InvalidArgumentError
from edgeml.hardware import EdgeTpuDevice, edgetpu_node, list_edgetpus
from edgeml.interpreter.backends import load_backend
from edgeml.interpreter.devices import parse_device

__all__ = ["LIBRARY", "Probe", "compiled_on_cpu_error", "cpu_twin", "diagnose", "load_edgetpu_delegate",
           "runtime_error", "runtime_mismatch"]

LIBRARY = {"darwin": "libedgetpu.1.dylib", "win32": "edgetpu.dll"}.get(sys.platform, "libedgetpu.so.1")
_RUNTIME = re.compile(r"requires runtime version \((\d+)\).*?this runtime version \((\d+)\)", re.S)


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
            f"The Edge TPU runtime {probe.library} cannot be loaded ({probe.library_error}). Install it: "
            f"{install.RUNTIME}, and unplug/replug the USB Accelerator. Or pass fallback='cpu' to run on the CPU.",
            "library_missing")
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
        InvalidArgumentError: ``device`` is not a valid device string, or is ``"cpu"``.
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        raise InvalidArgumentError("device='cpu' needs no delegate; call open_interpreter without one.")
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


def cpu_twin(path: Path, error: EdgeTpuError) -> Path:
    """Return the model from before edgetpu_compiler beside ``path`` (``x_edgetpu.tflite`` → ``x.tflite``).

    Raises:
        EdgeTpuError: ``error`` extended with why the CPU fallback cannot run: the twin does not exist.
    """
    sibling = path.with_name(path.name.replace("_edgetpu.tflite", ".tflite"))
    if sibling != path and sibling.is_file():
        return sibling
    raise EdgeTpuError(f"{error} The CPU fallback needs the model from before edgetpu_compiler; {str(path)!r} "
                       f"runs only on the Edge TPU and {str(sibling)!r} does not exist.", error.reason) from error


def compiled_on_cpu_error(path: Path) -> EdgeTpuError:
    """The error for an edgetpu_compiler model asked to run on the CPU, naming both ways out."""
    sibling = path.with_name(path.name.replace("_edgetpu.tflite", ".tflite"))
    return EdgeTpuError(
        f"{str(path)!r} was compiled by edgetpu_compiler (it contains edgetpu-custom-op) and runs only on an "
        f"Edge TPU, but device='cpu'. Fix: pass device='usb', 'pci' or 'auto' with a Coral attached, or run "
        f"the model from before compilation ({sibling.name}) on the CPU.", "compiled_model_needs_tpu")
