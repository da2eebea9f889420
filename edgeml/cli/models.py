"""``edgeml models``: the model store on the device (install, list, show, activate, rollback, remove, verify, trust)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edgeml.cli._args import positive_float, positive_int, probability


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
    done = store.install(args.bundle, activate=args.activate, allow_unsigned=args.allow_unsigned,
                         timeout=args.probe_timeout)
    m = done.manifest
    signer = f"signed by {done.key_id}" if done.key_id else "UNSIGNED (allowed by --allow-unsigned; recorded)"
    print(f"installed {m.name} {m.version} ({signer}) in {done.path}" + ("; activated, pending its health window"
                                                                       if done.activated else ""))
    for name, summary in done.checks.items():
        print(f"  {name}: {summary}")
    return 0


def _row(store: Any, name: str) -> dict[str, Any]:
    status = store.status(name)
    return {"name": name, "versions": store.versions(name), "current": status["current"],
            "committed": status["committed"], "pending": (status["pending"] or {}).get("version"),
            "canary": (status["canary"] or {}).get("version"), "bad": sorted(int(v) for v in status["bad"])}


def _list(store: Any, args: argparse.Namespace) -> int:
    rows = [_row(store, n) for n in store.names()]
    if args.json:
        print(json.dumps({"store": str(store.root), "models": rows}))
        return 0
    if not rows:
        print(f"no models in {store.root} (install one: edgeml models install BUNDLE)", file=sys.stderr)
    for r in rows:
        extra = "".join(f", {k} {r[k]}" for k in ("pending", "canary") if r[k] is not None)
        bad = f", bad {r['bad']}" if r["bad"] else ""
        print(f"{r['name']}: versions {r['versions']}, current {r['current']}, committed {r['committed']}{extra}{bad}")
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    info = store.describe(args.name)
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{info['name']}  current {info['current']}  committed {info['committed']}  ({store.root})")
    if info["pending"]:
        p = info["pending"]
        print(f"  pending: {p['version']} (starts {p['starts']}/{p['max_starts']}, health window {p['health_frames']} "
              "frames)")
    if info["canary"]:
        c = info["canary"]
        print(f"  canary requested: {c['version']} against {c['against']}, {c['frames']} frames, every {c['every']}, "
              f"min agreement {c['min_agreement']:.0%}")
    for v in info["versions"]:
        flags = [f for f, on in (("current", v["version"] == info["current"]),
                                 ("committed", v["version"] == info["committed"])) if on]
        signer = f"key {v['key_id']}" if v["key_id"] else "unsigned"
        figures = ", ".join(f"{k} {x}" for k, x in v["report"].items())
        print(f"  {v['version']:>4}  {v['created']}  {v['model']}  {v['bytes'] / 1024:.0f} KiB  {signer}"
              + (f"  [{', '.join(flags)}]" if flags else "") + (f"  ({figures})" if figures else ""))
        if v["bad"]:
            print(f"        BAD: {v['bad']['reason']}")
        if v["canary"]:
            c = v["canary"]
            print(f"        canary {'PROMOTED' if c['passed'] else 'REJECTED'}: {c['reason']}; latency p50 "
                  f"{c.get('latency_ms_p50')} ms vs {c.get('current_latency_ms_p50')} ms")
    for e in info["history"][-8:]:
        details = ", ".join(f"{k} {e[k]}" for k in ("previous", "reason") if e.get(k) is not None)
        print(f"  {e['at']}  {e['event']} {e['version']}" + (f" ({details})" if details else ""))
    return 0


def _activate(store: Any, args: argparse.Namespace) -> int:
    if args.canary:
        req = store.canary(args.name, args.version, frames=args.canary, min_agreement=args.min_agreement,
                           every=args.every, max_latency_ratio=args.max_latency_ratio, force=args.force)
        print(f"canary of {args.name} {args.version} requested: the running stream shadows it against "
              f"{req['against']} on every {req['every']}-th frame for {req['frames']} frames, then promotes it "
              f"(top-1 agreement >= {req['min_agreement']:.0%}) or marks it bad; see `edgeml models show "
              f"{args.name}`")
        return 0
    store.activate(args.name, args.version, force=args.force, health_frames=args.health_frames,
                   max_starts=args.max_starts, max_failures=args.max_failures)
    status = store.status(args.name)
    state = "committed" if status["pending"] is None else "pending its health window"
    print(f"{args.name} {args.version} is current ({state}); running streams swap to it between two frames")
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
            print(json.dumps({"name": f.name, "version": f.version, "ok": f.ok, "message": f.message}))
        else:
            print(f)
    bad = [f for f in findings if not f.ok]
    print(f"edgeml models verify: {len(bad)} problem(s) in {store.root}", file=sys.stderr)
    return 1 if bad else 0


def _trust(store: Any, args: argparse.Namespace) -> int:
    print(f"trusted key {store.trust(args.public_key)} in {store.root / 'trusted-keys'}")
    return 0
