"""The MQTT outbox: a bounded, durable SQLite queue of events waiting for a broker's acknowledgement.

An event counts as emitted once :meth:`Outbox.put_many` has returned: the batch is one transaction in WAL mode with
``synchronous=FULL``, so it survives a SIGKILL or a power cut. A row leaves the outbox only when the broker has
acknowledged it (:meth:`Outbox.delete`), or when the outbox is over its bounds: beyond ``max_events`` rows or older
than ``max_age_s`` the oldest are pruned and counted in :attr:`Outbox.dropped` (persisted with the rows), so a
kiosk cut off from its broker for a month fills neither its SD card nor its memory.

The file lives at ``STORE/outbox/NAME.sqlite3`` (:func:`outbox_path`), mode 0600. Row ids only grow
(``AUTOINCREMENT``), so a reader can page with ``after_rowid`` while others are appended and deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from edgeml.errors import SinkError, one_line

__all__ = ["MAX_AGE_S", "MAX_EVENTS", "Outbox", "outbox_path"]

MAX_EVENTS = 100_000
MAX_AGE_S = 7 * 86400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, t REAL NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('dropped', 0);
"""


def outbox_path(store: str | os.PathLike[str], name: str) -> Path:
    """Return ``STORE/outbox/SAFE.sqlite3`` for a sink called ``name`` (creating ``STORE/outbox``, mode 0700).

    ``SAFE`` keeps the letters, digits, dots and dashes of ``name`` and adds a short hash of the whole of it, so
    ``edgeml/a_b`` and ``edgeml/a/b`` never share a file, and the same ``--output`` finds its outbox again.

    Raises:
        StoreError: The store's outbox folder cannot be created.
    """
    from edgeml.data_dir import store_subdir

    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", name).strip("_")[:80]
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return store_subdir(store, "outbox") / f"{safe}-{digest}.sqlite3"


class Outbox:
    """A durable FIFO of JSON events (thread-safe: one connection behind a lock).

    Args:
        path: The SQLite file (created mode 0600 when missing; its folder must exist).
        max_events: Rows kept at most; the oldest beyond it are pruned and counted.
        max_age_s: Rows older than this (seconds, by ``clock``) are pruned and counted.
        clock: Wall clock for the age of rows (tests pass their own).

    Raises:
        SinkError: The file cannot be opened, is not an outbox or is corrupt (the message says to move it aside).
    """

    def __init__(self, path: str | os.PathLike[str], *, max_events: int = MAX_EVENTS,
                 max_age_s: float = MAX_AGE_S, clock: Callable[[], float] = time.time) -> None:
        if max_events < 1 or not max_age_s > 0:
            from edgeml.errors import InvalidArgumentError

            raise InvalidArgumentError(f"The outbox needs max_events >= 1 and max_age_s > 0. Received: "
                                       f"max_events={max_events!r}, max_age_s={max_age_s!r}")
        self.path = Path(path)
        self.max_events = max_events
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._depth = self._dropped = 0
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            check = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check}")
            self._db.executescript(_SCHEMA)
            self._depth = int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            self._dropped = int(self._db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()[0])
            with self._lock:
                self._transaction(self._prune)
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise SinkError(f"The MQTT outbox {str(self.path)!r} cannot be opened: {one_line(exc)}. Move it aside "
                            f"(mv {self.path} {self.path}.bad: the events in it are not sent) and start again, or "
                            "pass a writable --store DIR.") from exc

    # -- writing -----------------------------------------------------------------------------------------------

    def put_many(self, events: Sequence[dict[str, Any]]) -> None:
        """Append ``events`` in order, durably, in one transaction (committed when this returns).

        Raises:
            SinkError: The disk is full or the file cannot be written.
        """
        if not events:
            return
        now = self._clock()
        rows = [(now, json.dumps(e, separators=(",", ":"))) for e in events]

        def insert() -> None:
            self._open_db().executemany("INSERT INTO events (t, body) VALUES (?, ?)", rows)
            self._depth += len(rows)
            self._prune()

        with self._lock:
            self._guard("write to", lambda: self._transaction(insert))

    def delete(self, rowids: Iterable[int]) -> None:
        """Remove the rows the broker has acknowledged (ids that are gone already are ignored)."""
        ids = [(int(r),) for r in rowids]
        if not ids:
            return

        def remove() -> None:
            db = self._open_db()
            before = db.total_changes
            db.executemany("DELETE FROM events WHERE id = ?", ids)
            self._depth -= db.total_changes - before

        with self._lock:
            self._guard("delete from", lambda: self._transaction(remove))

    # -- reading -----------------------------------------------------------------------------------------------

    def peek(self, n: int, after_rowid: int = 0) -> list[tuple[int, str]]:
        """Return up to ``n`` ``(rowid, json)`` rows after ``after_rowid``, oldest first (nothing is removed)."""
        with self._lock:
            db = self._open_db()
            return [(int(r), str(b)) for r, b in
                    db.execute("SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_rowid, n))]

    def depth(self) -> int:
        """Rows waiting for an acknowledgement (still readable after close)."""
        with self._lock:
            return self._depth

    @property
    def dropped(self) -> int:
        """Events pruned by the bounds since the outbox was created (persisted; still readable after close)."""
        with self._lock:
            return self._dropped

    def close(self) -> None:
        """Close the file (idempotent); rows not yet acknowledged stay for the next run."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- inside the lock ---------------------------------------------------------------------------------------

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise SinkError(f"The MQTT outbox {str(self.path)!r} is closed. Open a new Outbox.")
        return self._db

    def _transaction(self, body: Callable[[], None]) -> None:
        db = self._open_db()
        depth, dropped = self._depth, self._dropped
        db.execute("BEGIN IMMEDIATE")
        try:
            body()
            db.execute("COMMIT")
        except BaseException:
            self._depth, self._dropped = depth, dropped
            db.execute("ROLLBACK")
            raise

    def _guard(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except sqlite3.Error as exc:
            raise SinkError(f"Cannot {what} the MQTT outbox {str(self.path)!r}: {one_line(exc)}. Free disk space "
                            f"in {str(self.path.parent)!r}; if the file is corrupt, move it aside (mv {self.path} "
                            f"{self.path}.bad) and restart.") from exc

    def _prune(self) -> None:
        """Delete (and count) rows beyond the bounds; called inside a transaction."""
        db = self._open_db()
        before = db.total_changes
        oldest = db.execute("SELECT t FROM events ORDER BY id LIMIT 1").fetchone()
        cutoff = self._clock() - self.max_age_s
        if oldest is not None and oldest[0] < cutoff:
            db.execute("DELETE FROM events WHERE t < ?", (cutoff,))
        self._depth -= db.total_changes - before
        excess = self._depth - self.max_events
        if excess > 0:
            db.execute("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)", (excess,))
            self._depth -= excess
        pruned = db.total_changes - before
        if pruned:
            db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped'", (pruned,))
            self._dropped += pruned
