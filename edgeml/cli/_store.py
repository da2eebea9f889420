"""What a long-running command does before it loads ``store:NAME`` (shared by ``classify --source`` and ``serve``)."""

from __future__ import annotations

import sys

__all__ = ["begin_store_run"]


def begin_store_run(model: str, store: str | None, command: str) -> None:
    """Before a stream loads ``store:NAME``: count the start of a pending version, or revert one that has had its
    starts (commit or revert: a kiosk never crash-loops on a bad update)."""
    from edgeml.store.identity import is_store_ref, parse_ref

    if not is_store_ref(model):
        return
    name, version = parse_ref(model)
    if version is not None:  # pinned: no commit-or-revert
        return
    from edgeml.store.store import ModelStore

    start = ModelStore(store).begin_run(name)
    if start.reverted:
        print(f"{command}: {name} {start.reverted['previous']} {start.reverted['reason']}: reverted to "
              f"{start.reverted['version']}", file=sys.stderr)
    elif start.pending:
        print(f"{command}: {name} {start.version} is pending its health window", file=sys.stderr)
