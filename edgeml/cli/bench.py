"""``edgeml bench``: time each stage on real frames, beside a plain "tutorial" pipeline and bare ``invoke()``."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from edgeml.errors import ImageError


def _frame_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)[xX](\d+)", text)
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}")
    return int(match[1]), int(match[2])


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="time decode/preprocess/invoke/postprocess against a tutorial pipeline",
        description="Time each stage of classify() on real frames, beside a plain tutorial pipeline (PIL resize, "
                    "float normalise, quantize, set_tensor) and bare invoke(), on the same interpreter.")
    p.add_argument("model", help="the .tflite model")
    p.add_argument("--frame", type=_frame_size, default=(640, 480), metavar="WxH",
                   help="frame size the photos are resized to before timing (default: 640x480)")
    p.add_argument("--source", help="an image file or folder of images (default: scikit-image's photos)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: the backend's)")
    p.add_argument("--iterations", type=int, default=200, help="timed frames per pipeline (default: 200)")
    p.add_argument("--rounds", type=int, default=5, help="alternations between the pipelines (default: 5)")
    p.add_argument("--block", type=int, default=10,
                   help="frames per pipeline before switching to the next; 1 alternates every frame (default: 10)")
    p.add_argument("--no-opencv", action="store_true",
                   help="resize with numpy even when OpenCV is installed (same as EDGEML_NO_OPENCV=1)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    p.add_argument("--save", metavar="FILE", help="also append the JSON object as one line to FILE")
    p.set_defaults(func=run)


def _table(result: dict) -> str:
    lines = [
        f"model {result['model']}  input {result['input']} ({result['input_path']})  frame {result['frame']} "
        f"{result['frame_format']}  resize {result['resize']} via {result['resize_backend']}  "
        f"{result['interpreter']}, threads={result['threads']}, blocks of {result['block']} frames",
        f"{'stage':<12}{'edgeml median':>15}{'p95':>9}{'tutorial median':>18}{'p95':>9}   (ms)",
    ]
    for stage in ("decode", "preprocess", "invoke", "postprocess", "total"):
        ours, theirs = result["edgeml"][stage], result["tutorial"].get(stage)
        tut = f"{theirs['median_ms']:>18.3f}{theirs['p95_ms']:>9.3f}" if theirs else f"{'-':>18}{'-':>9}"
        lines.append(f"{stage:<12}{ours['median_ms']:>15.3f}{ours['p95_ms']:>9.3f}{tut}")
    bare = result["bare_invoke"]
    ratios = result["ratios"]
    lines += [
        f"{'bare invoke':<12}{bare['median_ms']:>15.3f}{bare['p95_ms']:>9.3f}",
        f"frames/s: edgeml {result['edgeml_fps']:.1f}, tutorial {result['tutorial_fps']:.1f}, "
        f"bare invoke {result['bare_invoke_fps']:.1f}",
        f"classify / bare invoke = {ratios['edgeml_over_invoke']:.3f}x; tutorial / bare invoke = "
        f"{ratios['tutorial_over_invoke']:.3f}x; overhead removed (tutorial - edgeml) / (tutorial - bare) = "
        f"{ratios['overhead_removed']:.3f}; frames/s gain {ratios['fps_gain']:.2f}x",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from edgeml.bench import photo_frames, run_bench
    from edgeml.classifier import Classifier
    from edgeml.preprocess import set_backend

    if min(args.iterations, args.rounds, args.block) < 1:
        raise ImageError(f"--iterations, --rounds and --block must be >= 1. "
                         f"Received: {args.iterations}, {args.rounds}, {args.block}")
    if args.no_opencv or os.environ.get("EDGEML_NO_OPENCV", "").lower() in ("1", "true", "yes"):
        set_backend("numpy")
    clf = Classifier(args.model, num_threads=args.threads)
    frames = photo_frames(args.frame, args.source)
    print(f"edgeml bench: {len(frames)} frames, {args.iterations} per pipeline in {args.rounds} rounds, "
          f"blocks of {args.block}", file=sys.stderr)
    result = run_bench(clf, frames, args.iterations, rounds=args.rounds, block=args.block,
                       progress=lambda msg: print(f"edgeml bench: {msg}", file=sys.stderr))
    data = result.to_dict()
    if args.save:
        with open(args.save, "a", encoding="utf-8") as f:
            f.write(json.dumps(data) + "\n")
    print(json.dumps(data) if args.json else _table(data), flush=True)
    return 0
