"""``edgeml models``: the model store on the device (install, list, show, activate, rollback, remove, verify, trust)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edgeml.cli._args import positive_float, positive_int, probability
from edgeml.cli._print import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="DIR", help="the store folder (default: $EDGEML_STORE, else "
                        "~/.local/share/edgeml; the kiosk service uses /var/lib/edgeml)")
    p = subparsers.add_parser("models", help="model versions on the device: install, activate, rollback, ...",
                              description="The model store: STORE/models/NAME/VERSION/ (immutable), a 'current' "
                                          "pointer switched atomically, trusted keys in STORE/trusted-keys/.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=help, parents=[common], description=help)
        a.set_defaults(func=run, parser=a)
        return a

    ins = action("install", "check a signed bundle (signature, hashes, verifier, child-process probe) and install "
                            "it as NAME/VERSION")
    ins.add_argument("bundle", metavar="BUNDLE_OR_PATH", help="a .edgeml bundle, or an unpacked bundle folder")
    ins.add_argument("--activate", action="store_true", help="activate it once installed (pending its health "
                                                             "window)")
    ins.add_argument("--allow-unsigned", action="store_true", help="accept a bundle without a signature (the "
                                                                   "store records that it did)")
    ins.add_argument("--probe-timeout", type=positive_float, default=30.0, metavar="S",
                     help="seconds the child-process probe of each model may take (default: 30)")
    ls = action("list", "installed models and versions (current, committed, pending, bad)")
    ls.add_argument("--json", action="store_true")
    show = action("show", "one model: versions, manifest figures, canary results, history")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    act = action("activate", "make a version current (pending until a stream runs its health window), or "
                             "--canary: shadow it in the running stream first")
    act.add_argument("name")
    act.add_argument("version", type=positive_int)
    act.add_argument("--canary", type=positive_int, metavar="FRAMES",
                     help="compare it in shadow with the current model on FRAMES live frames, then promote it or "
                          "mark it bad")
    act.add_argument("--min-agreement", type=probability, default=0.95, help="canary: top-1 agreement needed "
                                                                               "(default: 0.95)")
    act.add_argument("--every", type=positive_int, default=5, metavar="K",
                     help="canary: shadow every K-th frame (default: 5; bounds the CPU it takes)")
    act.add_argument("--max-latency-ratio", type=positive_float, default=None, metavar="R",
                     help="canary: also refuse a candidate whose invoke() is more than R times the current one's")
    act.add_argument("--health-frames", type=positive_int, default=None, metavar="N",
                     help="frames without a model error before it is committed (default: 300)")
    act.add_argument("--max-starts", type=positive_int, default=None, metavar="K",
                     help="starts it gets to finish the health window; the next one reverts it (default: 3)")
    act.add_argument("--max-failures", type=positive_int, default=None, metavar="K",
                     help="failed invokes in a row that revert it (default: 3)")
    act.add_argument("--force", action="store_true", help="activate a version marked bad")
    rb = action("rollback", "go back to the last committed version before the current one")
    rb.add_argument("name")
    rm = action("remove", "delete a version that is neither current nor committed")
    rm.add_argument("name")
    rm.add_argument("version", type=positive_int)
    ver = action("verify", "check every installed file against its signed manifest, and each pointer")
    ver.add_argument("name", nargs="?")
    ver.add_argument("--json", action="store_true")
    tr = action("trust", "trust a publisher's Ed25519 public key (from `edgeml keys generate`)")
    tr.add_argument("public_key", metavar="PUBKEY")


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
