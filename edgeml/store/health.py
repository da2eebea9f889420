"""Activation, commit or revert (Mender's model, balena's health window), rollback and canary requests.

- :func:`activate` makes a version current and **pending**: ``state.json`` first, then the ``current`` pointer,
  each replaced atomically. A current version that is not the committed one is pending, so a process killed
  between the two writes leaves the old version running, or the new one pending: never an unqualified one.
- A pending version is **committed** by the stream that runs it once it has classified ``health_frames`` frames in
  a row without a model error (:func:`commit`).
- It is **reverted** to the last committed version, and marked bad with the reason, when it fails
  ``max_failures`` invokes (:func:`revert`), or when a process starts with it pending for the
  ``max_starts + 1``-th time (:func:`begin_run`): a kiosk whose new model crashes it restarts into the old one.
- :func:`rollback` (an operator) goes back to the last committed version before the current one, committed at once.
- :func:`request_canary` asks running streams to shadow a version; :func:`finish_canary` promotes it (then it is
  pending like any activation) or marks it bad with the figures.

Every change holds the model's lock and is recorded in the history.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from edgeml.data_dir import private_dir
from edgeml.errors import ModelNotFoundError, StoreError
from edgeml.store.atomic import checkpoint, locked, point_symlink
from edgeml.store.check import check_version
from edgeml.store.layout import CURRENT, STATE, StoreLayout
from edgeml.store.state import ModelState

__all__ = ["RunStart", "activate", "begin_run", "commit", "count_store_start", "finish_canary", "mark_bad",
           "request_canary", "revert", "rollback", "status"]

log = logging.getLogger("edgeml.store")


@dataclass(frozen=True)
class RunStart:
    """What :func:`begin_run` found: the version to run, whether it is pending, and a revert it made (if any)."""

    version: int
    pending: bool
    reverted: dict[str, Any] | None = None


def status(layout: StoreLayout, name: str) -> dict[str, Any]:
    """``{"current", "committed", "pending": {...} | None, "canary", "bad"}`` for ``name`` (read-only)."""
    state, current = layout.state(name), layout.current(name)
    pending = None if current is None or current == state.committed else state.pending_for(current)
    return {"current": current, "committed": state.committed, "pending": pending, "canary": state.canary,
            "bad": state.bad, "highest": state.highest}


def _save(layout: StoreLayout, name: str, state: ModelState, step: str) -> None:
    state.save(layout.folder(name) / STATE)
    checkpoint(step)


def _point(layout: StoreLayout, name: str, version: int) -> None:
    point_symlink(layout.folder(name) / CURRENT, str(version))


def activate_locked(layout: StoreLayout, name: str, version: int, state: ModelState, *, force: bool = False,
                    by: str = "operator", **window: int | None) -> None:
    """:func:`activate` for a caller already holding the lock with ``state`` loaded."""
    layout.require(name, version)
    bad = state.is_bad(version)
    if bad and not force:
        raise StoreError(f"{name} {version} is marked bad ({bad.get('reason')}). Activate it anyway with --force, "
                         "or install a fixed version.")
    problems = check_version(layout, name, version)
    if problems:
        raise StoreError(f"{name} {version} is damaged on disk: {problems[0]}. Remove it (`edgeml models remove "
                         f"{name} {version}`) and install it again.")
    current = layout.current(name)
    if force:
        state.bad.pop(str(version), None)
    if state.canary and state.canary.get("version") == version:
        state.canary = None
    if version != state.committed:
        pending = state.pending_for(None)
        pending.update({"version": version, **{k: v for k, v in window.items() if v is not None}})
        state.pending = pending
    state.record("activated", version, previous=current, by=by)
    _save(layout, name, state, "activate:state")
    _point(layout, name, version)
    checkpoint("activate:pointer")
    log.debug("%s %d activated (%s); previous %s", name, version,
             "committed" if version == state.committed else "pending until its health window", current)


def activate(layout: StoreLayout, name: str, version: int, *, force: bool = False, health_frames: int | None = None,
             max_starts: int | None = None, max_failures: int | None = None) -> None:
    """Make ``version`` current, pending until a stream has run it ``health_frames`` frames without an error.

    Raises:
        ModelNotFoundError, StoreError: Not installed, damaged on disk, or marked bad (without ``force``).
    """
    with locked(private_dir(layout.folder(name))):
        activate_locked(layout, name, version, layout.state(name), force=force, health_frames=health_frames,
                        max_starts=max_starts, max_failures=max_failures)


def rollback(layout: StoreLayout, name: str) -> int:
    """Go back to the last committed version before the current one (committed at once); return it.

    Raises:
        StoreError: There is no older version to go back to.
    """
    layout.require(name)
    with locked(layout.folder(name)):
        state, current = layout.state(name), layout.current(name)
        installed = set(layout.versions(name))
        commits = [e["version"] for e in state.history if e.get("event") in ("committed", "rolled-back")]
        candidates = ([state.committed] if state.committed != current else []) + commits[::-1] + sorted(
            (v for v in installed if current is None or v < current), reverse=True)
        target = next((v for v in candidates if v is not None and v != current and v in installed
                       and not state.is_bad(v)), None)
        if target is None:
            raise StoreError(f"{name} has no older good version to roll back to (current: {current}, installed: "
                             f"{', '.join(map(str, sorted(installed)))}). Install one, or `edgeml models activate`.")
        state.committed, state.pending = target, None
        state.record("rolled-back", target, previous=current)
        _save(layout, name, state, "rollback:state")
        _point(layout, name, target)
    log.debug("%s rolled back from %s to %d (committed)", name, current, target)
    return target


def begin_run(layout: StoreLayout, name: str) -> RunStart:
    """Count a start of the current version if it is pending; revert it when it has had its ``max_starts``.

    Call it before the model is loaded, so that a model that crashes the process while loading counts too.

    Raises:
        ModelNotFoundError: Nothing is installed or activated under ``name``.
    """
    layout.require(name)
    with locked(layout.folder(name)):
        state, current = layout.state(name), layout.current(name)
        if current is None:
            raise ModelNotFoundError(f"{name} has no active version. Activate one: `edgeml models activate {name} "
                                     "VERSION`.")
        if current == state.committed:
            return RunStart(current, False)
        pending = state.pending_for(current)
        if pending["starts"] >= pending["max_starts"]:
            reason = (f"started {pending['starts']} times without finishing its {pending['health_frames']}-frame "
                      "health window")
            reverted = _revert_locked(layout, name, state, current, reason, {"starts": pending["starts"]})
            if reverted is not None:
                return RunStart(reverted["version"], False, reverted)
            return RunStart(current, True)
        pending["starts"] += 1
        state.pending = pending
        _save(layout, name, state, "begin:state")
        return RunStart(current, True)


def commit(layout: StoreLayout, name: str, version: int, frames: int) -> bool:
    """Commit ``version`` after ``frames`` good frames (False when it is no longer current: nothing changes)."""
    with locked(layout.folder(name)):
        state = layout.state(name)
        if layout.current(name) != version or state.committed == version:
            return False
        state.committed, state.pending = version, None
        state.record("committed", version, frames=frames)
        _save(layout, name, state, "commit:state")
    log.info("%s %d committed after %d frames without an error", name, version, frames)
    return True


def _revert_locked(layout: StoreLayout, name: str, state: ModelState, version: int, reason: str,
                   figures: dict[str, Any], to: int | None = None) -> dict[str, Any] | None:
    target = state.committed if to is None else to
    state.bad[str(version)] = {"reason": reason, "figures": figures, "at": state.record("marked-bad", version)["at"]}
    if target is None or target == version or target not in layout.versions(name):
        log.error("%s %d %s, but there is no committed version to revert to; it keeps running", name, version,
                  reason)
        _save(layout, name, state, "revert:state")
        return None
    if state.pending and state.pending.get("version") != target:
        state.pending = None
    event = state.record("reverted", target, previous=version, reason=reason)
    _save(layout, name, state, "revert:state")
    _point(layout, name, target)
    log.warning("%s %d %s: reverted to %d", name, version, reason, target)
    return event


def revert(layout: StoreLayout, name: str, version: int, reason: str, figures: dict[str, Any] | None = None,
           to: int | None = None) -> dict[str, Any] | None:
    """Mark ``version`` bad and point ``current`` back at the committed version (or ``to``); return the event
    (None: nothing to go back to, or ``version`` is no longer current)."""
    with locked(layout.folder(name)):
        state = layout.state(name)
        if layout.current(name) != version:
            return None
        return _revert_locked(layout, name, state, version, reason, figures or {}, to)


def mark_bad(layout: StoreLayout, name: str, version: int, reason: str, figures: dict[str, Any]) -> None:
    """Record ``version`` as bad without touching the pointer (a version that never ran)."""
    with locked(layout.folder(name)):
        state = layout.state(name)
        state.bad[str(version)] = {"reason": reason, "figures": figures, "at": state.record("marked-bad", version,
                                                                                             reason=reason)["at"]}
        _save(layout, name, state, "bad:state")


def request_canary(layout: StoreLayout, name: str, version: int, *, frames: int, min_agreement: float, every: int,
                   max_latency_ratio: float | None = None, force: bool = False) -> dict[str, Any]:
    """Ask the running stream(s) of ``name`` to shadow ``version``; return the request.

    Raises:
        StoreError: Not installed, already current, or marked bad (without ``force``).
    """
    layout.require(name, version)
    with locked(layout.folder(name)):
        state = layout.state(name)
        if layout.current(name) == version:
            raise StoreError(f"{name} {version} is already current; a canary compares another version with it.")
        bad = state.is_bad(version)
        if bad and not force:
            raise StoreError(f"{name} {version} is marked bad ({bad.get('reason')}). Request it anyway with --force.")
        state.bad.pop(str(version), None)
        request = {"version": version, "frames": frames, "min_agreement": min_agreement, "every": every,
                   "max_latency_ratio": max_latency_ratio, "against": layout.current(name),
                   "requested": state.record("canary-requested", version, frames=frames)["at"]}
        state.canary = request
        _save(layout, name, state, "canary:state")
    return request


def finish_canary(layout: StoreLayout, name: str, version: int, outcome: dict[str, Any]) -> str | None:
    """Record a canary's outcome: ``"promoted"`` (activated, pending) or ``"rejected"`` (marked bad).

    Returns None when the request was withdrawn or replaced meanwhile (nothing changes).
    """
    with locked(layout.folder(name)):
        state = layout.state(name)
        if not state.canary or state.canary.get("version") != version:
            return None
        state.canary = None
        state.canaries[str(version)] = outcome
        if outcome["passed"]:
            state.record("canary-promoted", version, figures=outcome)
            activate_locked(layout, name, version, state, by="canary")
            return "promoted"
        reason = outcome["reason"]
        state.bad[str(version)] = {"reason": f"canary: {reason}", "figures": outcome,
                                   "at": state.record("canary-rejected", version, reason=reason)["at"]}
        _save(layout, name, state, "canary:rejected")
        return "rejected"


def count_store_start(model: Any, store: str | os.PathLike[str] | None) -> str | None:
    """Before a long-running command loads ``store:NAME``: count the start of a pending version, or revert one that
    has had its starts (commit or revert: a kiosk never crash-loops on a bad update).

    Returns:
        What happened, for the caller to show (None for a file, a pinned ``store:NAME@V`` or a committed version).
    """
    from edgeml.store.identity import is_store_ref, parse_ref

    if not is_store_ref(model):
        return None
    name, version = parse_ref(str(model))
    if version is not None:  # pinned: no commit-or-revert
        return None
    start = begin_run(StoreLayout(store), name)
    if start.reverted:
        r = start.reverted
        return f"{name} {r['previous']} {r['reason']}: reverted to {r['version']}"
    if start.pending:
        return f"{name} {start.version} is pending its health window"
    return None
