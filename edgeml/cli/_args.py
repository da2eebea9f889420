"""Argument types and option groups the subcommands share: bad values are usage errors (exit 2), said in one line.

argparse turns an ``ArgumentTypeError`` into ``edgeml CMD: error: argument --x: ...`` and exit status 2, so every
range check lives in a type function here instead of a traceback from deep in the library.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable
from typing import Any

from edgeml.errors import EdgemlError
from edgeml.frame import parse_size
from edgeml.interpreter.devices import DEVICES, parse_device

__all__ = ["add_model_options", "add_run_options", "board", "board_for", "device", "frame_size", "non_negative_float",
           "non_negative_int", "positive_float", "positive_int", "probability", "run_options", "show_settings",
           "tensor_size"]

log = logging.getLogger("edgeml.cli")


def _number(kind: Callable[[str], float], text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _checked(kind: Callable[[str], float], text: str, ok: Callable[[float], bool], rule: str) -> float:
    value = _number(kind, text)
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (``--threads``, ``--top-k``, ``--max-frames``, ...)."""
    return int(_checked(int, text, lambda v: v >= 1, ">= 1"))


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return int(_checked(int, text, lambda v: v >= 0, ">= 0"))


def positive_float(text: str) -> float:
    """A finite number > 0 (``--fps``)."""
    return float(_checked(float, text, lambda v: v > 0, "> 0"))


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (``--source-timeout``, where 0 turns the check off)."""
    return float(_checked(float, text, lambda v: v >= 0, ">= 0"))


def probability(text: str) -> float:
    """A number in [0, 1] (``--threshold``)."""
    return float(_checked(float, text, lambda v: 0.0 <= v <= 1.0, "a probability between 0 and 1"))


def frame_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` → ``(width, height)``."""
    try:
        return parse_size(text, "WxH")
    except EdgemlError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None


def tensor_size(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (a model input, e.g. ``--input-size 224x224``) → ``(height, width)``."""
    try:
        return parse_size(text, "HxW")
    except EdgemlError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 224x224, got {text!r}") from None


def device(text: str) -> str:
    """A device string (``cpu``, ``auto``, ``usb``, ``usb:N``, ``pci``, ``pci:N``)."""
    try:
        parse_device(text)
    except EdgemlError:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DEVICES)}, got {text!r}") from None
    return text


def board(text: str) -> str:
    """A board profile name, ``auto`` (detect this machine) or ``none``."""
    if text in ("auto", "none"):
        return text
    from edgeml.boards import load_profiles

    names = load_profiles()
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown board {text!r}; valid: auto, none, {', '.join(names)}")
    return text


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Add --model (a file or store:NAME[@VERSION]), --store and --labels: which classifier runs."""
    p.add_argument("--model", "-m", required=True,
                   help="the .tflite model, or store:NAME[@VERSION] from the model store (`edgeml models`)")
    p.add_argument("--store", metavar="DIR", help="the model store for store:NAME (default: $EDGEML_STORE, else "
                                                  "~/.local/share/edgeml)")
    p.add_argument("--labels", help="labels file (default: the labels embedded in the model)")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Add --threads, --device, --fallback and --board: the explicit rung of :mod:`edgeml.settings`."""
    g = p.add_argument_group("where and how the model runs (argument > board profile > model > default)")
    g.add_argument("--threads", type=positive_int, default=None,
                   help="interpreter threads (default: the board's, which leaves the capture thread a core)")
    g.add_argument("--device", type=device, default=None, metavar="DEVICE",
                   help=f"{', '.join(DEVICES)} (default: the board's Edge TPU if it has one, else cpu)")
    g.add_argument("--fallback", choices=("cpu", "none"), default=None,
                   help="cpu: run on the CPU, with a warning, when the Edge TPU cannot be used; none: fail "
                        "(default: cpu when the TPU came from the board, none when --device asked for it)")
    g.add_argument("--board", type=board, default="auto", metavar="NAME",
                   help="board profile (edgeml boards list), 'auto' to detect this machine (default), or 'none'")


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments :func:`edgeml.settings.resolve_settings` and ``Classifier`` take from them."""
    return {"threads": args.threads, "device": args.device,
            "fallback": args.fallback,
            "board": None if args.board == "none" else args.board}


def board_for(board: str | None) -> Any:
    """Resolve ``--board`` once (detection reads /proc and /sys); an undetectable machine runs without one."""
    if board is None:
        return None
    from edgeml.boards import resolve_board
    from edgeml.errors import BoardProfileError

    try:
        profile, detection = resolve_board(board)
    except BoardProfileError as exc:
        if board != "auto":
            raise
        log.warning("edgeml: no board profile for this machine (%s); using the interpreter's defaults.",
                    str(exc).split(". ")[0])
        return None
    return detection or profile


def show_settings(settings: Any, source: Any = None) -> None:
    """Log, at debug level (``edgeml -v``), every resolved setting and where it came from."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    log.debug("settings (argument > board %s > model > default):", settings.board or "none")
    for line in settings.describe():
        name = line.split()[0]
        if source is not None and name in ("source", "camera_format"):
            line = next(s for s in source.describe() if s.split()[0] == name)
        log.debug("  %s", line)
