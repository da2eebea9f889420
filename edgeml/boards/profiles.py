"""Board profiles: what the runtime should do on each board, read from the ``boards/*.toml`` files.

The TOML files live in the repository's top-level ``boards/`` folder and are installed as the package
``edgeml.boards_data`` (see ``[tool.setuptools] package-dir`` in pyproject.toml); a source checkout that is not
installed reads the folder directly. Detection (which profile this machine is) is in :mod:`edgeml.boards.detect`;
what a profile means for a run is resolved by :mod:`edgeml.settings`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeml.errors import BoardProfileError

__all__ = [
    "BoardProfile",
    "InstallNotes",
    "LatencyCheck",
    "check_latency",
    "get_profile",
    "load_profiles",
]

KINDS = ("board", "accessory", "generic")
ARCHES = ("aarch64", "armv7l", "x86_64", "any")
CAMERAS = ("picamera2", "v4l2", "none")
EDGETPU_KINDS = ("none", "usb", "pci")
# picamera2 format name -> edgeml Frame format (byte order in memory; picamera2 names are the reverse).
LORES_TO_FRAME = {"YUV420": "I420", "RGB888": "BGR", "BGR888": "RGB", "XRGB8888": "BGRX", "XBGR8888": "RGBX"}
LATENCY_BAND = 0.30  # a measured latency within ±30 % of the reference is "ok"


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise BoardProfileError(f"{what} must be a list of strings. Received: {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class InstallNotes:
    """How to install the stack on a board: OS images and Python versions that work, apt and pip packages."""

    os: tuple[str, ...] = ()
    python: tuple[str, ...] = ()
    apt: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("os", "python", "apt", "pip", "notes"):
            object.__setattr__(self, name, _strings(getattr(self, name), f"install.{name}"))


@dataclass(frozen=True)
class BoardProfile:
    """One board (or accessory) profile.

    Attributes:
        name: Slug, also the TOML file name (``"rpi-4b"``).
        title: Human name (``"Raspberry Pi 4 Model B"``).
        kind: ``"board"`` (detected by model string), ``"generic"`` (by CPU architecture) or ``"accessory"``
            (combined with the host board, e.g. the Coral USB Accelerator).
        arch: ``"aarch64"``, ``"armv7l"``, ``"x86_64"`` or ``"any"`` (accessories).
        cores: CPU cores (None for generic profiles and accessories: read from the machine).
        threads: Recommended interpreter threads (None: one per detected core).
        memory_mb: RAM sizes the board is sold with, in MiB.
        camera: ``"picamera2"``, ``"v4l2"`` or ``"none"``.
        lores_format: picamera2 format of the lores stream (``"YUV420"`` on VC4 boards, ``"RGB888"`` on Pi 5).
        source: Default frame source for ``edgeml classify --source`` (``"picamera2"``, ``"usb:0"``, ...).
        edgetpu: Edge TPU built in or provided: ``"none"``, ``"usb"`` or ``"pci"``.
        detect: Detection rules: ``model_prefixes``, ``model_contains``, ``machines``, ``usb_ids``.
        install: :class:`InstallNotes`.
        reference_ms: Reference invoke latencies in ms for ``edgeml bench``, keyed by model name.
    """

    name: str
    title: str
    kind: str
    arch: str
    edgetpu: str = "none"
    cores: int | None = None
    threads: int | None = None
    memory_mb: tuple[int, ...] = ()
    camera: str = "none"
    lores_format: str | None = None
    source: str | None = None
    detect: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    install: InstallNotes = field(default_factory=InstallNotes)
    reference_ms: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"Board profile {self.name!r}"
        for attr, valid in (("kind", KINDS), ("arch", ARCHES), ("camera", CAMERAS), ("edgetpu", EDGETPU_KINDS)):
            if getattr(self, attr) not in valid:
                raise BoardProfileError(f"{where}: {attr} must be one of {', '.join(valid)}. "
                                        f"Received: {getattr(self, attr)!r}")
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise BoardProfileError(f"Board profile name must be a slug of letters, digits, '-'. Received: "
                                    f"{self.name!r}")
        if self.cores is not None and self.cores < 1:
            raise BoardProfileError(f"{where}: cores must be >= 1. Received: {self.cores}")
        if self.threads is not None and (self.threads < 1 or (self.cores is not None and self.threads > self.cores)):
            raise BoardProfileError(f"{where}: threads must be between 1 and cores ({self.cores}). "
                                    f"Received: {self.threads}")
        if self.lores_format is not None and self.lores_format not in LORES_TO_FRAME:
            raise BoardProfileError(f"{where}: lores_format must be one of {', '.join(LORES_TO_FRAME)}. "
                                    f"Received: {self.lores_format!r}")
        if self.lores_format is not None and self.camera != "picamera2":
            raise BoardProfileError(f"{where}: lores_format applies to camera = 'picamera2' only. "
                                    f"Received camera={self.camera!r}")
        valid_rules = {"model_prefixes", "model_contains", "machines", "usb_ids"}
        if set(self.detect) - valid_rules:
            raise BoardProfileError(f"{where}: unknown [detect] keys {sorted(set(self.detect) - valid_rules)}. "
                                    f"Valid: {', '.join(sorted(valid_rules))}")
        if self.kind != "accessory" and not self.detect:
            raise BoardProfileError(f"{where}: needs a [detect] table so `edgeml boards detect` can find it")
        object.__setattr__(self, "detect", {k: _strings(v, f"detect.{k}") for k, v in self.detect.items()})
        object.__setattr__(self, "memory_mb", tuple(int(m) for m in self.memory_mb))
        for key, ms in self.reference_ms.items():
            if not isinstance(ms, (int, float)) or ms <= 0:
                raise BoardProfileError(f"{where}: reference_ms.{key} must be a positive number. Received: {ms!r}")

    @property
    def frame_format(self) -> str | None:
        """The edgeml Frame format of the lores stream, e.g. ``"I420"`` for YUV420, ``"BGR"`` for RGB888."""
        return LORES_TO_FRAME.get(self.lores_format or "")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field (plus the derived ``frame_format``)."""
        return {
            "name": self.name, "title": self.title, "kind": self.kind, "arch": self.arch, "cores": self.cores,
            "threads": self.threads, "memory_mb": list(self.memory_mb), "camera": self.camera,
            "lores_format": self.lores_format, "frame_format": self.frame_format, "source": self.source,
            "edgetpu": self.edgetpu, "detect": {k: list(v) for k, v in self.detect.items()},
            "install": {k: list(getattr(self.install, k)) for k in ("os", "python", "apt", "pip", "notes")},
            "reference_ms": dict(self.reference_ms),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BoardProfile:
        """Build a profile from a parsed TOML table; unknown keys are an error (they are usually typos)."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise BoardProfileError(f"Board profile {data.get('name')!r}: unknown keys {sorted(unknown)}. "
                                    f"Valid: {', '.join(sorted(known))}")
        kwargs = dict(data)
        install = kwargs.pop("install", {})
        if set(install) - {"os", "python", "apt", "pip", "notes"}:
            raise BoardProfileError(f"Board profile {data.get('name')!r}: unknown [install] keys "
                                    f"{sorted(set(install) - {'os', 'python', 'apt', 'pip', 'notes'})}")
        try:
            return cls(install=InstallNotes(**install), **kwargs)
        except TypeError as exc:  # a required key is missing
            raise BoardProfileError(f"Board profile {data.get('name')!r}: {exc}") from exc


def _profile_files() -> list[tuple[str, bytes]]:
    import importlib.resources  # here, not at import: only the first profile lookup pays for it

    try:
        package = importlib.resources.files("edgeml.boards_data")
        entries = [(p.name, p.read_bytes()) for p in package.iterdir() if p.name.endswith(".toml")]
    except ModuleNotFoundError:
        entries = []
    if not entries:  # a source checkout run without installing: read the top-level boards/ folder
        folder = Path(__file__).resolve().parents[2] / "boards"
        entries = [(p.name, p.read_bytes()) for p in folder.glob("*.toml")]
    if not entries:
        raise BoardProfileError("No board profiles found: neither the installed package edgeml.boards_data nor "
                                "a boards/ folder beside edgeml/. Reinstall with: pip install edgeml")
    return sorted(entries)


@functools.lru_cache(maxsize=1)
def load_profiles() -> dict[str, BoardProfile]:
    """Return every shipped profile by name, validated (cached after the first call)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    profiles: dict[str, BoardProfile] = {}
    for filename, raw in _profile_files():
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise BoardProfileError(f"Board profile {filename} is not valid TOML: {exc}") from exc
        profile = BoardProfile.from_dict(data)
        if f"{profile.name}.toml" != filename:
            raise BoardProfileError(f"Board profile {filename} has name = {profile.name!r}; "
                                    f"rename the file to {profile.name}.toml or fix the name")
        profiles[profile.name] = profile
    return profiles


def get_profile(name: str) -> BoardProfile:
    """Return the profile called ``name``.

    Raises:
        BoardProfileError: No such profile; the message lists the valid names.
    """
    profiles = load_profiles()
    if name not in profiles:
        raise BoardProfileError(f"Unknown board {name!r}. Valid: {', '.join(profiles)}. "
                                "See `edgeml boards list`.")
    return profiles[name]


@dataclass(frozen=True)
class LatencyCheck:
    """A measured latency compared with a board's reference (``status``: ok, slower, faster or missing)."""

    status: str
    measured_ms: float
    reference_ms: float | None
    message: str

    @property
    def ratio(self) -> float | None:
        """measured / reference, or None when there is no reference."""
        return None if self.reference_ms is None else self.measured_ms / self.reference_ms


def check_latency(board: str | BoardProfile, model: str, measured_ms: float) -> LatencyCheck:
    """Compare ``measured_ms`` with the board's reference for ``model`` (a ±30 % band is ``"ok"``).

    A missing reference is reported as status ``"missing"``, never raised.
    """
    profile = get_profile(board) if isinstance(board, str) else board
    ref = profile.reference_ms.get(model)
    if ref is None:
        known = ", ".join(profile.reference_ms) or "none"
        return LatencyCheck("missing", measured_ms, None,
                            f"No reference latency for {model!r} on {profile.name} (references: {known}).")
    ratio = measured_ms / ref
    if ratio > 1 + LATENCY_BAND:
        status = "slower"
    elif ratio < 1 - LATENCY_BAND:
        status = "faster"
    else:
        status = "ok"
    return LatencyCheck(status, measured_ms, float(ref), f"{measured_ms:.2f} ms vs reference {ref:.2f} ms on "
                        f"{profile.name} ({ratio:.2f}x, ok band ±{LATENCY_BAND:.0%}): {status}")
