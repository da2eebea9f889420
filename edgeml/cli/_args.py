"""Option groups the subcommands share, and the :class:`edgeml.run.RunSpec` they describe.

The argument types (range checks as usage errors, exit 2) are :mod:`edgeml.cli._types`, re-exported here.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from edgeml.boards.profiles import LORES_TO_FRAME
from edgeml.cli._types import (
    board,
    device,
    frame_size,
    non_negative_float,
    non_negative_int,
    port,
    positive_float,
    positive_int,
    probability,
    tensor_size,
)
from edgeml.interpreter.devices import DEVICES

__all__ = ["CAMERA_FORMATS", "add_model_options", "add_run_options", "add_stream_options", "board", "device",
           "frame_size", "non_negative_float", "non_negative_int", "port", "positive_float", "positive_int",
           "probability", "refuse_without_source", "run_spec", "show_settings", "stream_fields", "tensor_size"]

log = logging.getLogger("edgeml.cli")


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


def refuse_without_source(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """A usage error (exit 2) for the first of ``names`` given (not at its default) without --source."""
    given = [n for n in names if getattr(args, n) != args.parser.get_default(n)]
    if given and not args.source:
        args.parser.error(f"--{given[0].replace('_', '-')} applies to --source streams only")


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
