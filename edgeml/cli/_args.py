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

from edgeml.boards.profiles import LORES_TO_FRAME
from edgeml.errors import EdgemlError
from edgeml.frame import parse_size
from edgeml.interpreter.devices import DEVICES, parse_device

__all__ = ["CAMERA_FORMATS", "add_model_options", "add_run_options", "add_stream_options", "board", "device",
           "frame_size", "non_negative_float", "non_negative_int", "positive_float", "positive_int", "probability",
           "run_spec", "show_settings", "stream_fields", "tensor_size"]

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


CAMERA_FORMATS = tuple(LORES_TO_FRAME)  # picamera2's lores names, from the one table


def add_stream_options(p: argparse.ArgumentParser) -> None:
    """Add the options of a stream: --source and how it is read and watched (classify --source, serve)."""
    g = p.add_argument_group("the stream")
    g.add_argument("--source", help="classify a stream: picamera2[:N], usb:N, v4l2:/dev/videoN, video:PATH, "
                                    "images:DIR_OR_GLOB, synthetic, or camera (the board profile's camera)")
    g.add_argument("--camera-format", choices=CAMERA_FORMATS, default=None,
                   help="picamera2 lores format (default: the board's: YUV420 on Pi 4 and older, RGB888 on Pi 5)")
    g.add_argument("--fps", type=positive_float, default=None, help="classify at most N frames per second")
    g.add_argument("--realtime", action="store_true", help="pace a video file like a camera (drops when slow)")
    g.add_argument("--loop", action="store_true", help="restart a video or image folder at its end")
    g.add_argument("--source-timeout", type=non_negative_float, default=20.0, metavar="S",
                   help="stop with an error (exit 1) when one camera/file read does not return for S seconds "
                        "(default: 20; 0: never)")
    g.add_argument("--invoke-timeout", type=non_negative_float, default=10.0, metavar="S",
                   help="stop with an error (exit 1) when one invoke() does not return for S seconds "
                        "(default: 10; 0: never)")


def stream_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`edgeml.run.RunSpec` stream fields of :func:`add_stream_options` (0 timeouts: not watched)."""
    return {"source": args.source, "camera_format": args.camera_format, "top_k": args.top_k,
            "threshold": args.threshold, "fps": args.fps, "realtime": args.realtime, "loop": args.loop,
            "source_timeout": args.source_timeout or None, "invoke_timeout": args.invoke_timeout or None}


def run_spec(args: argparse.Namespace, **stream: Any) -> Any:
    """The :class:`edgeml.run.RunSpec` of the model and run options (``stream``: the command's stream fields)."""
    from edgeml.run import RunSpec

    return RunSpec(model=args.model, labels=getattr(args, "labels", None), store=getattr(args, "store", None),
                   threads=args.threads, device=args.device, fallback=args.fallback,
                   board=None if args.board == "none" else args.board, **stream)


def show_settings(settings: Any) -> None:
    """Log, at debug level (``edgeml -v``), every resolved setting of the run and where it came from."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    log.debug("settings (argument > board %s > model > default):", settings.board or "none")
    for line in settings.describe():
        log.debug("  %s", line)
