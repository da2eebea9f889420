"""``edgeml models``: the model store on the device (install, list, show, activate, rollback, remove, verify, trust)."""

from __future__ import annotations

import argparse

from edgeml.cli._args import positive_float, positive_int, probability
from edgeml.cli.models.actions import run


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
