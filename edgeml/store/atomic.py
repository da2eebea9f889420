"""File-system steps that survive SIGKILL and power loss at any point: each is all or nothing.

- :func:`write_atomic`: write a temp file beside the target, fsync it, rename it over the target, fsync the folder.
  A reader sees the old bytes or the new bytes, never a mix, and after a crash the new bytes are there only if
  the rename was.
- :func:`point_symlink`: the same for a symlink (``current -> 7``): a temp symlink renamed over the old one.
- :func:`fsync_tree`: flush a staged folder and everything in it before it is renamed into place.
- :func:`locked`: one writer at a time per model name (``flock``, released by the kernel when a process dies).

Temporary names start with ``.`` so that listings never show them; :func:`is_temporary` says which are.
:func:`checkpoint` marks the steps where a crash is interesting: a no-op unless a test installed a hook, which is
how the kill-at-any-point test stops a process exactly there (it also kills after random delays). In a child
process the hook comes from ``EDGEML_STORE_KILL_AT=STEP[#N]`` (SIGKILL itself at the N-th time STEP is reached,
default the first; ``*`` matches every step): a test-only switch that costs one dict lookup at import.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["KILL_ENV", "TEMP_PREFIXES", "checkpoint", "fsync_dir", "fsync_tree", "is_temporary", "locked",
           "point_symlink", "temp_name", "write_atomic"]

TEMP_PREFIXES = (".tmp-", ".staging-", ".removing-")
_hook: Callable[[str], None] | None = None  # set only by tests (see the module docstring)
KILL_ENV = "EDGEML_STORE_KILL_AT"


def _kill_at(spec: str) -> Callable[[str], None]:
    """The hook ``EDGEML_STORE_KILL_AT`` asks for: SIGKILL this process at the N-th ``STEP`` (``*``: any step)."""
    step, _, nth = spec.partition("#")
    seen = [0]

    def hook(reached: str) -> None:
        if step in ("*", reached):
            seen[0] += 1
            if seen[0] == int(nth or 1):
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


if os.environ.get(KILL_ENV):
    _hook = _kill_at(os.environ[KILL_ENV])


def checkpoint(step: str) -> None:
    """Mark ``step`` of a store transaction (a test hook may stop the process here)."""
    if _hook is not None:
        _hook(step)


def temp_name(prefix: str = ".tmp-") -> str:
    """A fresh hidden name: ``prefix`` + the process id + random hex (no two writers collide)."""
    return f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"


def is_temporary(name: str) -> bool:
    """True for names this module creates for a step in progress (left behind only by a killed process)."""
    return name.startswith(TEMP_PREFIXES)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush ``path``'s directory entries (a rename is durable only once its folder is synced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp file, fsync, rename, fsync folder)."""
    target = Path(path)
    tmp = target.parent / temp_name()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    checkpoint("write:synced")
    os.replace(tmp, target)
    checkpoint("write:renamed")
    fsync_dir(target.parent)


def point_symlink(link: str | os.PathLike[str], target: str) -> None:
    """Make ``link`` a symlink to ``target`` (relative, e.g. ``"7"``) atomically: temp symlink, rename, fsync."""
    link = Path(link)
    tmp = link.parent / temp_name()
    os.symlink(target, tmp)
    checkpoint("pointer:temp")
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    checkpoint("pointer:renamed")
    fsync_dir(link.parent)


def fsync_tree(folder: str | os.PathLike[str]) -> None:
    """fsync every regular file directly in ``folder``, then the folder itself."""
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            fd = os.open(entry.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fsync_dir(folder)


@contextlib.contextmanager
def locked(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder/.lock`` for the block (waits for another writer to finish)."""
    fd = os.open(Path(folder) / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock; so does the kernel when the process dies
