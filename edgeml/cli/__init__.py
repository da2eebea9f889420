"""The ``edgeml`` command: one module per subcommand, each with ``register(subparsers)``.

A subcommand module adds its parser and sets ``func(args) -> int``. Results go to stdout, logs and progress to
stderr. Exit codes: 0 ok, 1 failure (one-line error; ``--verbose`` for the traceback), 2 usage.
Subcommand modules are imported only when the CLI starts, and host-only ones import TensorFlow only inside
``func``, so ``edgeml --help`` is fast on a Raspberry Pi.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from edgeml._version import __version__
from edgeml.errors import EdgemlError

__all__ = ["main"]

# Subcommand modules under edgeml.cli, in the order `edgeml --help` lists them.
COMMANDS = ("bench", "classify", "convert")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="edgeml", description="On-device image classification for Raspberry Pi and Coral."
    )
    parser.add_argument("--version", action="version", version=f"edgeml {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details and show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"edgeml.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except EdgemlError as exc:
        if args.verbose:
            raise
        print(f"edgeml {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"edgeml {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `edgeml classify ... | head`
        return 0
