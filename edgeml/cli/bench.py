"""``edgeml bench``: time each stage on real frames, beside a plain "tutorial" pipeline and bare ``invoke()``."""

from __future__ import annotations

import argparse
import json
import sys

from edgeml.cli._args import add_run_options, frame_size, positive_int, run_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="time decode/preprocess/invoke/postprocess against a tutorial pipeline",
        description="Time each stage of classify() on real frames, beside a plain tutorial pipeline (PIL resize, "
                    "float normalise, quantize, set_tensor) and bare invoke(), on the same interpreter.")
    p.add_argument("model", help="the .tflite model, or store:NAME[@VERSION] from the model store")
    p.add_argument("--store", metavar="DIR", help="the model store for store:NAME (default: $EDGEML_STORE, else "
                                                  "~/.local/share/edgeml)")
    p.add_argument("--frame", type=frame_size, default=(640, 480), metavar="WxH",
                   help="frame size the photos are resized to before timing (default: 640x480)")
    p.add_argument("--source", help="an image file or folder of images (default: scikit-image's photos)")
    add_run_options(p)
    p.add_argument("--reference", metavar="NAME", help="compare with the board profile's reference latency of NAME "
                   "(default: derived from the model, e.g. efficientnet_lite0_224_int8)")
    p.add_argument("--iterations", type=positive_int, default=200, help="timed frames per pipeline (default: 200)")
    p.add_argument("--rounds", type=positive_int, default=5, help="alternations between the pipelines (default: 5)")
    p.add_argument("--block", type=positive_int, default=10,
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
    if "board_reference" in result:
        lines.append(f"bare invoke vs the board profile's reference: {result['board_reference']['message']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from edgeml.bench import compare_with_board, photo_frames, run_bench
    from edgeml.preprocess import set_backend
    from edgeml.preprocess.resampling import opencv_disabled
    from edgeml.run import open_run

    if args.no_opencv or opencv_disabled():
        set_backend("numpy")
    clf = open_run(run_spec(args)).runner
    frames = photo_frames(args.frame, args.source)
    print(f"edgeml bench: {len(frames)} frames, {args.iterations} per pipeline in {args.rounds} rounds, "
          f"blocks of {args.block}", file=sys.stderr)
    result = run_bench(clf, frames, args.iterations, rounds=args.rounds, block=args.block,
                       progress=lambda msg: print(f"edgeml bench: {msg}", file=sys.stderr))
    data = result.to_dict()
    latency = compare_with_board(clf, data["bare_invoke"]["median_ms"], args.reference)
    if latency is not None:
        data["board_reference"] = {"status": latency.status, "reference_ms": latency.reference_ms,
                                   "message": latency.message}
    if args.save:
        with open(args.save, "a", encoding="utf-8") as f:
            f.write(json.dumps(data) + "\n")
    print(json.dumps(data) if args.json else _table(data), flush=True)
    return 0
