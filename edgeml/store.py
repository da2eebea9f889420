"""Where edgeml keeps what it writes on the device: one directory, found one way.

Others build on the same directory: learned examples live under ``STORE/learned/`` (:mod:`edgeml.learn`), and
the model store and the outbox get their own sub-directories. Everything under it is private to its user
(directories 0700, files 0600).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SERVICE_STORE", "STORE_ENV", "private_dir", "store_dir"]

STORE_ENV = "EDGEML_STORE"
SERVICE_STORE = "/var/lib/edgeml"  # the kiosk service's (systemd StateDirectory=edgeml sets EDGEML_STORE to it)


def store_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the store directory (not created): ``explicit`` > ``$EDGEML_STORE`` > the user's data directory.

    The user's data directory is ``$XDG_DATA_HOME/edgeml``, by default ``~/.local/share/edgeml``; the service
    unit ``edgeml service install`` writes sets ``EDGEML_STORE=/var/lib/edgeml``.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "edgeml"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by its owner only (mode 0700); return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
