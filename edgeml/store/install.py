"""Install a bundle into the store, and remove a version: each visible all at once or not at all.

Install:

1. unpack into ``STORE/models/.staging-PID-RANDOM`` (the same file system as the versions), checking the signature
   against ``STORE/trusted-keys/`` before any file is written, then every file's size and SHA-256
   (:func:`edgeml.store.bundle.unpack`);
2. refuse a version not above the newest ever installed under that name (a downgrade is an operator's
   ``rollback``/``activate``), or one that needs a newer edgeml;
3. run :func:`edgeml.verify_model` on every model: the static verifier and a child-process probe (load, allocate,
   one invoke on a golden input), so a model that crashes the interpreter costs a child process, not the kiosk;
4. write ``install.json`` (when, from where, which key or ``allowed_unsigned``), fsync every file and the folder;
5. under the model's lock, rename the staging folder to ``NAME/VERSION`` and fsync the parent; record it in
   ``state.json``; with ``activate``, activate it (:func:`edgeml.store.health.activate`).

A process killed at any step leaves a hidden staging folder that nothing reads (swept by the next install) and the
store as it was.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgeml.data_dir import MODELS, private_dir, store_subdir
from edgeml.errors import BundleError, EdgemlError, StoreError
from edgeml.store.atomic import checkpoint, fsync_dir, fsync_tree, locked, temp_name
from edgeml.store.bundle import check_requirements, unpack
from edgeml.store.health import activate_locked
from edgeml.store.keys import trusted_keys
from edgeml.store.layout import StoreLayout
from edgeml.store.manifest import INSTALL, Manifest
from edgeml.store.state import ModelState, now

__all__ = ["Installed", "install", "remove", "sweep"]

log = logging.getLogger("edgeml.store")


@dataclass(frozen=True)
class Installed:
    """An installed version: its manifest, folder, signing key (None: unsigned) and verification summaries."""

    manifest: Manifest
    path: Path
    key_id: str | None
    checks: dict[str, str]
    activated: bool


def sweep(folder: Path) -> int:
    """Remove hidden staging/removal folders of processes that are no longer alive; return how many."""
    removed = 0
    for entry in os.scandir(folder):
        if not entry.name.startswith((".staging-", ".removing-", ".tmp-")):
            continue
        pid = entry.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def install(layout: StoreLayout, source: str | os.PathLike[str], *, activate: bool = False,
            allow_unsigned: bool = False, probe: bool = True, timeout: float = 30.0) -> Installed:
    """Install a bundle (or an unpacked bundle folder); see the module docstring.

    Raises:
        BundleError: The bundle is refused (tampered, untrusted, unsigned, unlisted file, traversal, symlink,
            downgrade, needs a newer edgeml).
        ModelFormatError: A model fails the verifier or its probe.
        StoreError: The store is not writable.
    """
    from edgeml.interpreter.verification import verify_model

    models = store_subdir(layout.root, MODELS)
    sweep(models)
    staging = models / temp_name(".staging-")
    staging.mkdir(mode=0o700)
    try:
        unpacked = unpack(source, staging, trusted_keys(layout.root), allow_unsigned=allow_unsigned)
        checkpoint("install:unpacked")
        manifest = unpacked.manifest
        check_requirements(manifest)
        if not _already(layout, manifest):
            _check_newer(layout, manifest)
        checks = {}
        for f in manifest.files:
            if f.kind.startswith("model"):
                checks[f.path] = verify_model(staging / f.path, probe=probe, timeout=timeout).summary()
        checkpoint("install:verified")
        record = {"installed": now(), "source": str(Path(source).absolute()), "key_id": unpacked.key_id,
                  "signed": unpacked.key_id is not None, "allowed_unsigned": unpacked.key_id is None,
                  "checks": checks}
        (staging / INSTALL).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.chmod(staging, 0o755)
        fsync_tree(staging)
        checkpoint("install:staged")
        folder = private_dir(layout.folder(manifest.name))
        with locked(folder):
            sweep(folder)
            target = layout.version_dir(manifest.name, manifest.version)
            if _already(layout, manifest):  # a re-run after a kill (or twice the same bundle): nothing to unpack
                state = layout.state(manifest.name)
            else:
                state = _check_newer(layout, manifest)
                os.rename(staging, target)
                checkpoint("install:renamed")
                fsync_dir(folder)
                fsync_dir(models)
            state.highest = max(state.highest, manifest.version)
            state.record("installed", manifest.version, key_id=unpacked.key_id, source=record["source"])
            if activate and layout.current(manifest.name) != manifest.version:
                activate_locked(layout, manifest.name, manifest.version, state)
            else:
                state.save(folder / "state.json")
                checkpoint("install:state")
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    how = f"signed by {unpacked.key_id}" if unpacked.key_id else "UNSIGNED (--allow-unsigned)"
    log.debug("installed %s %d (%s)%s", manifest.name, manifest.version, how, "; activated" if activate else "")
    return Installed(manifest, target, unpacked.key_id, checks, activate)


def _already(layout: StoreLayout, manifest: Manifest) -> bool:
    """True when exactly this signed manifest is installed already (its folder was renamed into place)."""
    try:
        return layout.manifest(manifest.name, manifest.version) == manifest
    except (OSError, EdgemlError):
        return False


def _check_newer(layout: StoreLayout, manifest: Manifest) -> ModelState:
    state = layout.state(manifest.name)
    newest = max([state.highest, *layout.versions(manifest.name)])
    if manifest.version <= newest:
        raise BundleError(f"{manifest.name} {manifest.version} is not above the newest version installed ({newest}): "
                          "refused. Publish it as version "
                          f"{newest + 1}; to go back to an older version use `edgeml models rollback "
                          f"{manifest.name}` or `edgeml models activate {manifest.name} VERSION`.")
    return state


def remove(layout: StoreLayout, name: str, version: int) -> None:
    """Delete an installed version that is neither current, committed nor a requested canary.

    Raises:
        StoreError: It is one of those, or not installed.
    """
    layout.require(name, version)
    folder = layout.folder(name)
    with locked(folder):
        state = layout.state(name)
        role = ("current" if layout.current(name) == version else "committed" if state.committed == version
                else "the requested canary" if state.canary and state.canary.get("version") == version else None)
        if role:
            raise StoreError(f"{name} {version} is {role}; it cannot be removed. Activate or roll back to another "
                             "version first.")
        hidden = folder / temp_name(".removing-")
        os.rename(layout.version_dir(name, version), hidden)
        checkpoint("remove:renamed")
        fsync_dir(folder)
        state.record("removed", version)
        state.save(folder / "state.json")
        shutil.rmtree(hidden, ignore_errors=True)
