"""The model store on disk, read side: names, versions, the ``current`` pointer, manifests, state.

::

    STORE/models/NAME/
        1/  2/  3/            one immutable folder per version: manifest.json, manifest.sig, install.json, files
        current -> 3          the version that runs (a relative symlink, switched atomically)
        state.json            committed / pending / bad / canary / history (edgeml.store.state)
        .lock                 writers take it in turn (flock)
        .staging-*  .tmp-*    a step in progress (left only by a killed process; invisible, swept by writers)

A version folder appears only by a ``rename`` of a complete, verified staging folder, and disappears only by a
``rename`` to a hidden name before it is deleted, so a listing never shows half a version.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeml.data_dir import MODELS, resolve_store
from edgeml.errors import ModelNotFoundError, StoreError
from edgeml.store.atomic import is_temporary
from edgeml.store.manifest import INSTALL, MANIFEST, Manifest, check_model_name
from edgeml.store.state import ModelState

__all__ = ["CURRENT", "STATE", "PointerStamp", "StoreLayout"]

CURRENT, STATE = "current", "state.json"


@dataclass(frozen=True)
class PointerStamp:
    """What a running stream polls: the pointer's target and the state file's identity (cheap: two syscalls)."""

    current: int | None
    state: tuple[int, int] | None


class StoreLayout:
    """Read a store's folders (nothing here writes).

    Args:
        root: The store folder (None: ``$EDGEML_STORE`` or the user's default; see :mod:`edgeml.data_dir`).
        service: Default to the kiosk service's store (``/var/lib/edgeml``).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, service: bool = False) -> None:
        self.root = resolve_store(root, service=service)
        self.models = self.root / MODELS

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    def folder(self, name: str) -> Path:
        return self.models / check_model_name(name)

    def names(self) -> list[str]:
        """Model names with at least one installed version, sorted."""
        if not self.models.is_dir():
            return []
        return sorted(p.name for p in self.models.iterdir() if p.is_dir() and not is_temporary(p.name)
                      and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        """Installed versions of ``name``, ascending."""
        folder = self.folder(name)
        if not folder.is_dir():
            return []
        return sorted(int(e.name) for e in os.scandir(folder)
                      if e.name.isdigit() and e.is_dir(follow_symlinks=False))

    def require(self, name: str, version: int | None = None) -> None:
        """Raise the error with the fix when ``name`` (or that version of it) is not installed."""
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise ModelNotFoundError(f"No model {name!r} in the store {str(self.root)!r} (installed: {known}). "
                                     "Install it with `edgeml models install BUNDLE`.")
        if version is not None and version not in versions:
            raise StoreError(f"{name} {version} is not installed (installed: {', '.join(map(str, versions))}). "
                             "Install it with `edgeml models install BUNDLE`.")

    def version_dir(self, name: str, version: int) -> Path:
        return self.folder(name) / str(version)

    def current(self, name: str) -> int | None:
        """The version ``current`` points at (None: nothing activated yet)."""
        try:
            target = os.readlink(self.folder(name) / CURRENT)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"{str(self.folder(name) / CURRENT)!r} is not a symlink ({exc.strerror}). Run `edgeml "
                             f"models verify {name}`, then `edgeml models activate {name} VERSION`.") from exc
        return int(target) if target.isdigit() else None

    def stamp(self, name: str) -> PointerStamp:
        """A cheap snapshot that changes whenever ``current`` or ``state.json`` is replaced."""
        try:
            st = os.stat(self.folder(name) / STATE)
            state: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
        except OSError:
            state = None
        return PointerStamp(self.current(name), state)

    def state(self, name: str) -> ModelState:
        return ModelState.load(self.folder(name) / STATE)

    def manifest(self, name: str, version: int) -> Manifest:
        return Manifest.from_bytes((self.version_dir(name, version) / MANIFEST).read_bytes())

    def install_record(self, name: str, version: int) -> dict[str, Any]:
        """``install.json`` of a version: when, from where, signed by which key (or allowed unsigned)."""
        try:
            record = json.loads((self.version_dir(name, version) / INSTALL).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def model_path(self, name: str, version: int, device: str = "cpu") -> Path:
        """The ``.tflite`` to run: the Edge TPU model on a TPU device when the bundle has one, else the CPU one."""
        manifest = self.manifest(name, version)
        file = manifest.edgetpu_model if device != "cpu" and manifest.edgetpu_model else manifest.model
        return self.version_dir(name, version) / file
