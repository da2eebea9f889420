"""``edgeml classify``: classify image files and print the top classes."""

from __future__ import annotations

import argparse
import json
import sys
import time

from edgeml.errors import ImageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("classify", help="classify image files with a .tflite model",
                              description="Classify image files with a .tflite model.")
    p.add_argument("--model", "-m", required=True, help="the .tflite model")
    p.add_argument("--labels", help="labels file (default: the labels embedded in the model)")
    p.add_argument("--top-k", type=int, default=5, help="classes to show per image (default: 5)")
    p.add_argument("--threshold", type=float, default=0.0, help="hide classes scoring below this (default: 0)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: the backend's)")
    p.add_argument("--json", action="store_true", help="one JSON object per line: path, results, latency_ms")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml.classifier import Classifier

    if args.top_k < 1:
        raise ImageError(f"--top-k must be >= 1. Received: {args.top_k}")
    clf = Classifier(args.model, labels=args.labels, num_threads=args.threads)
    failed = 0
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
            print(json.dumps({"path": path, "results": [r.to_dict() for r in results],
                              "latency_ms": round(latency_ms, 3)}), flush=True)
        else:
            print(f"{path}  ({latency_ms:.1f} ms)")
            for r in results:
                print(f"  {r.score:6.1%}  {r.label}")
    return 1 if failed else 0
