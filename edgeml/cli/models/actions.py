"""What each ``edgeml models ACTION`` does: call the store, print what it says (text or ``--json``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edgeml.cli._print import print_json

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    from edgeml.store.store import ModelStore

    store = ModelStore(args.store)
    return int(globals()[f"_{args.action}"](store, args) or 0)


def _install(store: Any, args: argparse.Namespace) -> int:
    from edgeml.store.report import install_lines

    done = store.install(args.bundle, activate=args.activate, allow_unsigned=args.allow_unsigned,
                         timeout=args.probe_timeout)
    print(*install_lines(done), sep="\n")
    return 0


def _list(store: Any, args: argparse.Namespace) -> int:
    from edgeml.store.report import list_lines, model_row

    rows = [model_row(store, n) for n in store.names()]
    if args.json:
        print_json({"store": str(store.root), "models": rows})
        return 0
    if not rows:
        print(f"no models in {store.root} (install one: edgeml models install BUNDLE)", file=sys.stderr)
    for line in list_lines(rows):
        print(line)
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    from edgeml.store.report import show_lines

    info = store.describe(args.name)
    if args.json:
        print_json(info)
        return 0
    print(*show_lines(info, store.root), sep="\n")
    return 0


def _activate(store: Any, args: argparse.Namespace) -> int:
    from edgeml.store.report import activated_line, canary_line

    if args.canary:
        req = store.canary(args.name, args.version, frames=args.canary, min_agreement=args.min_agreement,
                           every=args.every, max_latency_ratio=args.max_latency_ratio, force=args.force)
        print(canary_line(args.name, args.version, req))
        return 0
    store.activate(args.name, args.version, force=args.force, health_frames=args.health_frames,
                   max_starts=args.max_starts, max_failures=args.max_failures)
    print(activated_line(args.name, args.version, store.status(args.name)))
    return 0


def _rollback(store: Any, args: argparse.Namespace) -> int:
    print(f"{args.name}: current is now {store.rollback(args.name)} (committed)")
    return 0


def _remove(store: Any, args: argparse.Namespace) -> int:
    store.remove(args.name, args.version)
    print(f"removed {args.name} {args.version}")
    return 0


def _verify(store: Any, args: argparse.Namespace) -> int:
    findings = store.verify(args.name)
    for f in findings:
        if args.json:
            print_json({"name": f.name, "version": f.version, "ok": f.ok, "message": f.message})
        else:
            print(f)
    bad = [f for f in findings if not f.ok]
    print(f"edgeml models verify: {len(bad)} problem(s) in {store.root}", file=sys.stderr)
    return 1 if bad else 0


def _trust(store: Any, args: argparse.Namespace) -> int:
    print(f"trusted key {store.trust(args.public_key)} in {store.root / 'trusted-keys'}")
    return 0
