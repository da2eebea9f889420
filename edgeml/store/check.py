"""``edgeml models verify``: is every installed version exactly what was signed, and is the pointer sound?

Per version: only regular files, each listed in its manifest (plus the manifest, its signature and
``install.json``), each of the listed size and SHA-256; the manifest's name and version match the folder; the
signature checks against a trusted key (or ``install.json`` records that it was installed ``--allow-unsigned``);
every model passes the static verifier. Per name: ``current`` points at an installed version, the committed
version is installed, ``state.json`` is readable. Leftovers of a killed step (hidden ``.staging-*`` / ``.tmp-*``
names) are counted but are not problems: nothing reads them, and the next writer removes them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from edgeml.errors import EdgemlError, one_line
from edgeml.store.atomic import is_temporary
from edgeml.store.layout import CURRENT, STATE, StoreLayout
from edgeml.store.manifest import INSTALL, MANIFEST, SIGNATURE

__all__ = ["Finding", "check_version", "verify_store"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Finding:
    """One line of ``edgeml models verify``: ``ok`` False is a problem."""

    name: str
    version: int | None
    ok: bool
    message: str

    def __str__(self) -> str:
        where = f"{self.name} {self.version}" if self.version is not None else self.name
        return f"{'ok' if self.ok else 'PROBLEM'}  {where}: {self.message}"


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def check_version(layout: StoreLayout, name: str, version: int, trusted: dict[str, Any] | None = None,
                  models: bool = False) -> list[str]:
    """Return what is wrong with one installed version (empty: nothing).

    Args:
        trusted: Check the signature against these keys too (None: skip, as activation does).
        models: Also run the static model verifier on every ``.tflite``.
    """
    folder = layout.version_dir(name, version)
    try:
        manifest = layout.manifest(name, version)
    except (OSError, EdgemlError) as exc:
        return [f"manifest.json unreadable: {one_line(exc)}"]
    if manifest.name != name or manifest.version != version:
        return [f"its manifest is {manifest.name} {manifest.version}, not {name} {version}"]
    problems = []
    listed = {f.path: f for f in manifest.files}
    for entry in os.scandir(folder):
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            problems.append(f"{entry.name!r} is not a regular file")
        elif entry.name not in listed and entry.name not in (MANIFEST, SIGNATURE, INSTALL):
            problems.append(f"{entry.name!r} is not in its manifest")
    for f in manifest.files:
        path = folder / f.path
        try:
            if path.stat().st_size != f.size or _sha256(str(path)) != f.sha256:
                problems.append(f"{f.path!r} does not match its manifest's size and SHA-256")
        except OSError as exc:
            problems.append(f"{f.path!r} unreadable: {exc.strerror or exc}")
    if trusted is not None:
        problems += _signature(layout, name, version, trusted)
    if models and not problems:
        from edgeml.model.file import ModelFile

        for f in manifest.files:
            if f.path.endswith(".tflite"):
                try:
                    ModelFile.open(folder / f.path).verify(runtime=not f.kind.endswith("edgetpu"))
                except EdgemlError as exc:
                    problems.append(f"{f.path!r} fails the model verifier: {one_line(exc)}")
    return problems


def _signature(layout: StoreLayout, name: str, version: int, trusted: dict[str, Any]) -> list[str]:
    from edgeml.store.keys import check_signature

    folder = layout.version_dir(name, version)
    sig = folder / SIGNATURE
    if not sig.is_file():
        if layout.install_record(name, version).get("allowed_unsigned"):
            return []
        return ["unsigned, and install.json does not record --allow-unsigned"]
    try:
        check_signature(sig.read_bytes(), (folder / MANIFEST).read_bytes(), trusted)
    except (OSError, EdgemlError) as exc:
        return [one_line(exc)]
    return []


def verify_store(layout: StoreLayout, name: str | None = None) -> list[Finding]:
    """Check one model name (or all) as the module docstring says; return every finding."""
    from edgeml.store.keys import trusted_keys

    trusted = trusted_keys(layout.root)
    names = [name] if name is not None else layout.names()
    if name is not None:
        layout.require(name)
    findings: list[Finding] = []
    for n in names:
        folder = layout.folder(n)
        versions = layout.versions(n)
        for v in versions:
            problems = check_version(layout, n, v, trusted, models=True)
            record = layout.install_record(n, v)
            how = f"signed by {record['key_id']}" if record.get("key_id") else "unsigned (allowed at install)"
            findings.append(Finding(n, v, not problems, "; ".join(problems) or f"intact, {how}"))
        current, state = layout.current(n), layout.state(n)
        if (folder / CURRENT).is_symlink() and current not in versions:
            findings.append(Finding(n, None, False, f"'current' points at {os.readlink(folder / CURRENT)!r}, which "
                                                    "is not installed"))
        if state.committed is not None and state.committed not in versions:
            findings.append(Finding(n, None, False, f"committed version {state.committed} is not installed"))
        if state.damaged:
            findings.append(Finding(n, None, False, f"{STATE} unreadable ({state.damaged})"))
        leftovers = sum(1 for e in os.scandir(folder) if is_temporary(e.name))
        findings.append(Finding(n, None, True, f"current {current}, committed {state.committed}" + (
            f"; {leftovers} leftover(s) of an interrupted step (ignored; removed by the next install)"
            if leftovers else "")))
    return findings
