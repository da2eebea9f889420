"""``edgeml classify``: classify image files, or a camera / video / folder stream with ``--source``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from edgeml.cli._args import (
    add_model_options,
    add_run_options,
    add_stream_options,
    positive_float,
    positive_int,
    probability,
    refuse_without_source,
    run_spec,
    show_settings,
    stream_fields,
)
from edgeml.cli._outputs import add_output_options
from edgeml.cli._print import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "classify", help="classify image files or a camera/video stream with a .tflite model",
        description="Classify image files, or a stream with --source (picamera2[:N], usb:N, v4l2:/dev/videoN, "
                    "video:PATH, images:DIR_OR_GLOB, synthetic, or camera: this board's camera). Frames are never "
                    "written to disk or sent anywhere; results leave the device only through --output (events, "
                    "never pixels). Settings resolve as argument > board profile > model > default; -v shows "
                    "where each came from.")
    add_model_options(p)
    p.add_argument("--top-k", type=positive_int, default=5, help="classes to show per image (default: 5)")
    p.add_argument("--threshold", type=probability, default=0.0,
                   help="hide classes scoring below this probability, 0..1 (default: 0)")
    add_run_options(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: path or frame/timestamp, results, latency_ms")
    add_stream_options(p)
    p.add_argument("--max-frames", type=positive_int, default=None, help="stop after N classified frames")
    p.add_argument("--preview", action="store_true", help="show frames with the top label (needs a display)")
    p.add_argument("--max-megapixels", type=positive_float, default=None, metavar="MP",
                   help="refuse image files larger than this before decoding them (default: 40; a larger JPEG is "
                        "decoded at a reduced scale when that fits)")
    add_output_options(p)
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files")
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    if bool(args.images) == bool(args.source):
        args.parser.error("give either IMAGE files or --source SRC (exactly one of them)")
    if args.images:
        refuse_without_source(args, ("max_frames", "fps", "realtime", "loop", "preview", "camera_format",
                                     "source_timeout", "invoke_timeout", "emit_hold", "emit_min_score", "output",
                                     "emit", "heartbeat", "mqtt_ca", "device_id"))
    if args.json and "-" in args.output:
        args.parser.error("--json and --output - both write to stdout: use --output - alone for schema-1 events")
    if args.max_megapixels is not None:
        from edgeml.image.load import set_max_pixels

        set_max_pixels(max(1, round(args.max_megapixels * 1e6)))
    from edgeml.run import open_run

    fields = {**stream_fields(args), "max_frames": args.max_frames, "keep_frames": args.preview,
              "window": args.preview} if args.source else {}
    run = open_run(run_spec(args, **fields))
    if run.start_note:
        print(f"edgeml classify: {run.start_note}", file=sys.stderr)
    show_settings(run.settings)
    if run.stream is not None:
        from edgeml.cli._stream import run_stream

        return run_stream(args, run.stream)
    return _classify_files(args, run.runner)


def _classify_files(args: argparse.Namespace, clf: Any) -> int:
    from edgeml.errors import ImageError

    failed = 0
    model = clf.model_info
    for path in args.images:
        start = time.perf_counter()
        try:
            results = clf.classify(path, top_k=args.top_k, threshold=args.threshold)
        except ImageError as exc:
            # One bad file must not lose the rest of the batch: report it and go on.
            failed += 1
            print(f"edgeml classify: error: {exc}", file=sys.stderr)
            continue
        latency_ms = (time.perf_counter() - start) * 1000.0
        if args.json:
            print_json({"path": path, "results": [r.to_dict() for r in results],
                        "latency_ms": round(latency_ms, 3), "model": model})
        else:
            print(f"{path}  ({latency_ms:.1f} ms)")
            for r in results:
                print(f"  {r.score:6.1%}  {r.label}")
    return 1 if failed else 0
