"""``edgeml classify``: classify image files, or a camera / video / folder stream with ``--source``."""

from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "classify", help="classify image files or a camera/video stream with a .tflite model",
        description="Classify image files, or a stream with --source (picamera2[:N], usb:N, v4l2:/dev/videoN, "
                    "video:PATH, images:DIR_OR_GLOB, synthetic). Frames are never written to disk or sent anywhere.")
    p.add_argument("--model", "-m", required=True, help="the .tflite model")
    p.add_argument("--labels", help="labels file (default: the labels embedded in the model)")
    p.add_argument("--top-k", type=int, default=5, help="classes to show per image (default: 5)")
    p.add_argument("--threshold", type=float, default=0.0, help="hide classes scoring below this (default: 0)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: the backend's)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: path or frame/timestamp, results, latency_ms")
    p.add_argument("--source", help="stream source instead of IMAGE files, e.g. picamera2, usb:0, video:a.mp4")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N classified frames")
    p.add_argument("--fps", type=float, default=None, help="classify at most N frames per second")
    p.add_argument("--realtime", action="store_true", help="pace a video file like a camera (drops when slow)")
    p.add_argument("--loop", action="store_true", help="restart a video or image folder at its end")
    p.add_argument("--preview", action="store_true", help="show frames with the top label (needs a display)")
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files")
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from edgeml.classifier import Classifier

    if args.top_k < 1:
        args.parser.error(f"--top-k must be >= 1. Received: {args.top_k}")
    if bool(args.images) == bool(args.source):
        args.parser.error("give either IMAGE files or --source SRC (exactly one of them)")
    stream_only = [f for f in ("max_frames", "fps", "realtime", "loop", "preview") if getattr(args, f)]
    if args.images and stream_only:
        args.parser.error(f"--{stream_only[0].replace('_', '-')} applies to --source streams only")
    clf = Classifier(args.model, labels=args.labels, num_threads=args.threads)
    if args.source:
        from edgeml.cli._stream import run_stream

        return run_stream(args, clf)
    return _classify_files(args, clf)


def _classify_files(args: argparse.Namespace, clf: object) -> int:
    from edgeml.errors import ImageError

    failed = 0
    for path in args.images:
        start = time.perf_counter()
        try:
            results = clf.classify(path, top_k=args.top_k, threshold=args.threshold)  # type: ignore[attr-defined]
        except ImageError as exc:
            # One bad file must not lose the rest of the batch: report it and go on.
            failed += 1
            print(f"edgeml classify: error: {exc}", file=sys.stderr)
            continue
        latency_ms = (time.perf_counter() - start) * 1000.0
        if args.json:
            print(json.dumps({"path": path, "results": [r.to_dict() for r in results],
                              "latency_ms": round(latency_ms, 3)}), flush=True)
        else:
            print(f"{path}  ({latency_ms:.1f} ms)")
            for r in results:
                print(f"  {r.score:6.1%}  {r.label}")
    return 1 if failed else 0
