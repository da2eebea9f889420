"""A bundle's ``manifest.json``: what it holds, byte for byte, and the one canonical form that is signed.

::

    {"created": "2026-12-02T20:15:00Z", "edgetpu_model": null, "files": [{"kind": "model", "path": "m_int8.tflite",
     "sha256": "9f2c...", "size": 301232}, ...], "model": "m_int8.tflite", "name": "kiosk", "report": {...},
     "requires": {"edgeml": "0.1.0"}, "schema": 1, "target": {"board": null, "device": "cpu"}, "version": 3}

The canonical bytes are JSON with sorted keys, no whitespace, UTF-8 (:func:`canonical`); the Ed25519 signature
covers exactly those bytes, and a bundle's ``manifest.json`` must *be* those bytes (so there is nothing to parse
two ways: duplicate keys and extra spaces are refused). File names are flat (``[A-Za-z0-9][A-Za-z0-9._-]*``): no
folder, no ``..``, nothing absolute, so no entry can leave the version's folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from edgeml.errors import BundleError

__all__ = ["INSTALL", "MANIFEST", "RESERVED", "SIGNATURE", "FileEntry", "Manifest", "canonical", "check_file_name",
           "check_model_name", "parse_canonical"]

MANIFEST, SIGNATURE, INSTALL = "manifest.json", "manifest.sig", "install.json"
RESERVED = (MANIFEST, SIGNATURE, INSTALL)
SCHEMA = 1
KINDS = ("model", "model-edgetpu", "labels", "report", "file")
MAX_FILES = 64
MAX_FILE_BYTES = 1 << 30
MAX_VERSION = 2**31 - 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def canonical(obj: Any) -> bytes:
    """The signed form: JSON, keys sorted, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def parse_canonical(data: bytes, what: str) -> dict[str, Any]:
    """Parse ``data`` as a JSON object that is already in canonical form (else BundleError naming ``what``)."""
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
        return dict(pairs)

    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"The bundle's {what} is not valid JSON ({exc}); the bundle is damaged or was not made by "
                          "`edgeml bundle create`. Make it again.") from exc
    if not isinstance(obj, dict) or canonical(obj) != data:
        raise BundleError(f"The bundle's {what} is not in canonical form (sorted keys, no whitespace); it was edited "
                          "after signing or not made by `edgeml bundle create`. Make it again.")
    return obj


def check_model_name(name: object) -> str:
    """Return ``name`` if it is a valid model name (``[A-Za-z0-9][A-Za-z0-9._-]``, at most 64 characters)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise BundleError(f"Invalid model name {name!r}: use letters, digits, '.', '_' and '-' (at most 64, starting "
                          "with a letter or digit).")
    return name


def check_file_name(name: object) -> str:
    """Return ``name`` if it is a flat file name a bundle may hold (no folder, no ``..``, not absolute)."""
    if not isinstance(name, str) or not _FILE.fullmatch(name):
        raise BundleError(f"The bundle holds a file named {name!r}, which could leave the model's folder (a path, "
                          "'..', an absolute or hidden name): refused. Bundles hold flat file names only; make it "
                          "again with `edgeml bundle create`.")
    return name


@dataclass(frozen=True)
class FileEntry:
    """One file of a bundle: its flat name, SHA-256 (hex), size in bytes and kind (:data:`KINDS`)."""

    path: str
    sha256: str
    size: int
    kind: str = "file"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds; see the module docstring. Validated on construction (:class:`BundleError`)."""

    name: str
    version: int
    files: tuple[FileEntry, ...]
    model: str
    created: str
    edgetpu_model: str | None = None
    requires: dict[str, str] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_model_name(self.name)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or not 1 <= self.version <= MAX_VERSION:
            raise BundleError(f"A bundle's version must be an integer from 1 to {MAX_VERSION}. Received: "
                              f"{self.version!r}")
        if not 1 <= len(self.files) <= MAX_FILES:
            raise BundleError(f"A bundle holds 1 to {MAX_FILES} files. Received: {len(self.files)}")
        names = [f.path for f in self.files]
        for f in self.files:
            check_file_name(f.path)
            if f.path in RESERVED or f.kind not in KINDS or not _SHA256.fullmatch(f.sha256) \
                    or isinstance(f.size, bool) or not isinstance(f.size, int) or not 0 <= f.size <= MAX_FILE_BYTES:
                raise BundleError(f"The manifest's entry for {f.path!r} is invalid (reserved name, unknown kind, bad "
                                  "sha256 or size). Make the bundle again with `edgeml bundle create`.")
        if len(set(names)) != len(names):
            raise BundleError("The manifest lists a file twice. Make the bundle again with `edgeml bundle create`.")
        for role, name in (("model", self.model), ("edgetpu_model", self.edgetpu_model)):
            if name is not None and (name not in names or not name.endswith(".tflite")):
                raise BundleError(f"The manifest's {role} {name!r} is not one of its .tflite files. Make the bundle "
                                  "again with `edgeml bundle create`.")

    def entry(self, path: str) -> FileEntry:
        return next(f for f in self.files if f.path == path)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "name": self.name, "version": self.version, "created": self.created,
                "files": [f.to_dict() for f in self.files], "model": self.model, "edgetpu_model": self.edgetpu_model,
                "requires": dict(self.requires), "target": dict(self.target), "report": dict(self.report)}

    def to_bytes(self) -> bytes:
        """The canonical bytes (what ``manifest.json`` holds and what is signed)."""
        return canonical(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse canonical ``manifest.json`` bytes.

        Raises:
            BundleError: Not canonical JSON, an unknown schema, or an invalid field.
        """
        d = parse_canonical(data, MANIFEST)
        if d.get("schema") != SCHEMA:
            raise BundleError(f"The manifest's schema is {d.get('schema')!r}; this edgeml reads schema {SCHEMA}. "
                              "Upgrade edgeml on the device, or make the bundle with this version.")
        try:
            files = tuple(FileEntry(str(f["path"]), str(f["sha256"]), f["size"], str(f["kind"])) for f in d["files"])
            return cls(name=d["name"], version=d["version"], files=files, model=d["model"], created=str(d["created"]),
                       edgetpu_model=d.get("edgetpu_model"), requires=dict(d.get("requires") or {}),
                       target=dict(d.get("target") or {}), report=dict(d.get("report") or {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise BundleError(f"The manifest lacks or mistypes a field ({exc!r}). Make the bundle again with "
                              "`edgeml bundle create`.") from exc
