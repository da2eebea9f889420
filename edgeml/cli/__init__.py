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
from typing import NoReturn

from edgeml._version import __version__
from edgeml.errors import EdgemlError, InvalidArgumentError, MissingDependencyError
from edgeml.errors import one_line as _one_line

__all__ = ["Parser", "build_parser", "main", "one_line"]

# Subcommand modules under edgeml.cli, in the order `edgeml --help` lists them.
HOST_PACKAGE = "edgeml_converters"  # convert and train read their choices from it when the CLI starts
COMMANDS = ("classify", "serve", "bench", "convert", "train", "learn", "index", "inspect", "edgetpu", "boards",
            "doctor", "service", "models", "bundle", "keys")


class Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (the usage block is one ``--help`` away) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = Parser(
        prog="edgeml", description="On-device image classification for Raspberry Pi and Coral."
    )
    parser.add_argument("--version", action="version", version=f"edgeml {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details and show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"edgeml.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.partition(".")[0] != HOST_PACKAGE:
                raise
            _register_unavailable(subparsers, name)
            continue
        module.register(subparsers)
    return parser


def _register_unavailable(subparsers: argparse._SubParsersAction, name: str) -> None:
    """A host-only command (convert, train) where the host converters are not importable (a source checkout on
    PYTHONPATH, a device image that left them out): it parses anything and says what to install."""
    p = subparsers.add_parser(name, help=f"(unavailable here: needs {HOST_PACKAGE})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def unavailable(_args: argparse.Namespace) -> int:
        raise MissingDependencyError(f"edgeml {name} needs the host converters ({HOST_PACKAGE}), which are not "
                                   "importable here. Install edgeml with them: pip install 'edgeml[convert]'.")

    p.set_defaults(func=unavailable)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse cannot gather one positional list split by options (`learn add LABEL --model M IMAGES...`):
    # subcommands that take trailing files name the attribute ("trailing") that collects them.
    trailing: str | None = getattr(args, "trailing", None)
    if extra and (trailing is None or any(e.startswith("-") for e in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra and trailing is not None:
        setattr(args, trailing, [*getattr(args, trailing), *extra])
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
        print(f"edgeml {args.command}: error: {one_line(exc)}", file=sys.stderr)
        # A value out of range is a usage error, like argparse's own; everything else is a failure.
        return 2 if isinstance(exc, InvalidArgumentError) else 1
    except KeyboardInterrupt:
        print(f"edgeml {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `edgeml classify ... | head`
        return 0
    except Exception as exc:  # a bug, not a deliberate error: still one line, the traceback with -v
        if args.verbose:
            raise
        print(f"edgeml {args.command}: internal error: {type(exc).__name__}: {one_line(exc)} (this is a bug in "
              "edgeml: rerun with `edgeml -v` for the traceback and report it)", file=sys.stderr)
        return 1


def one_line(exc: BaseException, limit: int = 400) -> str:
    """The message of ``exc`` on one line, at most ``limit`` characters (see :func:`edgeml.errors.one_line`)."""
    return _one_line(exc, limit)
