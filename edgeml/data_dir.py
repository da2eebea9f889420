"""Where edgeml keeps its state on a device: one store directory, one sub-folder per concern.

The store is resolved once, in this order: an explicit ``--store DIR`` > ``$EDGEML_STORE`` > the default, which is
``/var/lib/edgeml`` for the kiosk service (``edgeml service install`` passes it to the unit) and
``$XDG_DATA_HOME/edgeml`` (``~/.local/share/edgeml``) for a user. Each concern owns one sub-folder::

    STORE/models/NAME/VERSION/   the versioned model store (edgeml.store.store): immutable, one folder per version
    STORE/trusted-keys/          public keys whose signatures a model install accepts
    STORE/outbox/                the MQTT outbox (results sinks)
    STORE/learned/               examples learned on the device (edgeml.learn) and similarity indexes

Nothing is created until a caller asks for a sub-folder (:func:`store_subdir`), so resolving the store writes
nothing: ``edgeml classify`` without anything that needs the store touches no file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from edgeml.errors import StoreError

__all__ = ["INDEXES", "INDEX_SUFFIX", "LEARNED", "MODELS", "SERVICE_STORE", "STORE_ENV", "TRUSTED_KEYS", "index_file",
           "private_dir", "resolve_store", "store_dir", "store_subdir", "user_store"]

STORE_ENV = "EDGEML_STORE"
SERVICE_STORE = Path("/var/lib/edgeml")
MODELS = "models"
TRUSTED_KEYS = "trusted-keys"
LEARNED = "learned"  # examples learned on the device (edgeml.learn) and, under it, the similarity indexes


def user_store(env: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_DATA_HOME/edgeml``, or ``~/.local/share/edgeml`` when XDG_DATA_HOME is unset or relative."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".local" / "share"
    return root / "edgeml"


def resolve_store(explicit: str | os.PathLike[str] | None = None, *, service: bool = False,
                  env: Mapping[str, str] | None = None) -> Path:
    """Return the store directory (absolute; not created): ``explicit`` > ``$EDGEML_STORE`` > the default.

    Args:
        explicit: ``--store DIR``, or None.
        service: Default to :data:`SERVICE_STORE` (the kiosk unit) instead of the user's data folder.
        env: The environment to read (default: ``os.environ``).
    """
    env = os.environ if env is None else env
    chosen = explicit or env.get(STORE_ENV) or (SERVICE_STORE if service else user_store(env))
    return Path(chosen).expanduser().absolute()


def store_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the store directory (not created): ``explicit`` > ``$EDGEML_STORE`` > the user's data directory.

    The same resolution as :func:`resolve_store` for a user; the kiosk unit sets ``EDGEML_STORE=/var/lib/edgeml``.
    """
    return resolve_store(explicit)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) readable by its owner only (mode 0700); return it.

    Raises:
        StoreError: It cannot be created (a read-only file system, or no permission); the message names the fix.
    """
    p = Path(path)
    try:
        p.mkdir(mode=0o700, parents=True, exist_ok=True)
        if p.stat().st_mode & 0o077:
            os.chmod(p, 0o700)
    except OSError as exc:
        raise StoreError(f"Cannot create {str(p)!r}: {exc.strerror or exc}. Pass a writable --store DIR (or set "
                         f"{STORE_ENV}); under systemd the store must be the unit's writable path.") from exc
    return p


def store_subdir(store: str | os.PathLike[str], name: str) -> Path:
    """Return ``STORE/name``, creating it (and the store) with mode 0700 when missing.

    Raises:
        StoreError: It cannot be created (a read-only file system, or no permission); the message names the fix.
    """
    return private_dir(Path(store) / name)


INDEX_SUFFIX = ".edgeml-index"
INDEXES = f"{LEARNED}/indexes"


def index_file(name: str, store: str | os.PathLike[str] | None = None) -> Path:
    """The file of similarity index ``name``: a path when it looks like one, else ``STORE/learned/indexes/NAME``."""
    if "/" in name or name.endswith(INDEX_SUFFIX):
        return Path(name)
    return store_dir(store) / INDEXES / f"{name}{INDEX_SUFFIX}"
