"""``edgeml keys generate``: an Ed25519 key pair for signing model bundles (host side; the ``[store]`` extra)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("keys", help="signing keys for model bundles",
                              description="Ed25519 keys: the private key signs bundles on the host, the public key "
                                          "is trusted on the device (`edgeml models trust KEY.pub`).")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    gen = sub.add_parser("generate", help="write NAME.key (private, mode 0600) and NAME.pub into a folder")
    gen.add_argument("--output", "-o", required=True, metavar="DIR", help="folder for the key pair")
    gen.add_argument("--name", default="edgeml-signing", help="file stem (default: edgeml-signing)")
    gen.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml.store.keys import generate_keys, key_id, load_public_key

    private, public = generate_keys(args.output, args.name)
    print(private)
    print(public)
    print(f"key id {key_id(load_public_key(public))}: keep {private.name} secret; on each device run "
          f"`edgeml models trust {public.name}`")
    return 0
