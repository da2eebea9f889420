"""``edgeml bundle create``: one signed ``.edgeml`` file holding a model version for the device's store."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeml.cli._args import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bundle", help="signed model bundles for `edgeml models install`",
                              description="A bundle is one .edgeml file: the model(s) (CPU and _edgetpu twins), "
                                          "labels, the conversion report and manifest.json (name, integer version, "
                                          "sha256 and size of every file, requirements, target, report figures), "
                                          "signed with Ed25519 over the canonical manifest bytes.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("create", help="bundle MODEL.tflite [MORE FILES] as NAME version N")
    add_bundle_options(c, required=True)
    c.add_argument("files", nargs="+", metavar="FILE", help="the CPU .tflite first, then its _edgetpu twin, "
                                                            "labels.txt, report.json, ...")
    c.add_argument("--output", "-o", metavar="FILE", help="the bundle to write (default: NAME-N.edgeml)")
    c.add_argument("--board", help="the board profile it is meant for (recorded in the manifest)")
    c.set_defaults(func=run)


def add_bundle_options(p: argparse._ActionsContainer, required: bool) -> None:
    """--name, --version, --key / --unsigned (shared with `edgeml convert --bundle`)."""
    p.add_argument("--name", required=required, help="the model's name on the device (store:NAME)")
    p.add_argument("--version", type=positive_int, required=required, metavar="N",
                   help="integer version, above every version the devices have")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--key", metavar="KEY", help="private key from `edgeml keys generate`")
    keys.add_argument("--unsigned", action="store_true", help="no signature (devices need --allow-unsigned)")


def run(args: argparse.Namespace) -> int:
    from edgeml.store.bundle import BUNDLE_SUFFIX, create_bundle

    if not args.key and not args.unsigned:
        from edgeml.errors import InvalidArgumentError

        raise InvalidArgumentError("give --key KEY to sign the bundle (make one with `edgeml keys generate`), or "
                                   "--unsigned")
    output = Path(args.output or f"{args.name}-{args.version}{BUNDLE_SUFFIX}")
    manifest = create_bundle(args.files, name=args.name, version=args.version, output=output,
                             key=None if args.unsigned else args.key, board=args.board)
    print(output)
    signed = "unsigned" if args.unsigned else "signed"
    print(f"{manifest.name} {manifest.version}: {len(manifest.files)} files, model {manifest.model}"
          + (f" (+ {manifest.edgetpu_model})" if manifest.edgetpu_model else "") + f", {signed}")
    return 0
