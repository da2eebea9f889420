"""``edgeml inspect MODEL.tflite``: what a model takes and gives, what it is made of, what it carries.

The report itself is :func:`edgeml.describe.describe`; this module parses the arguments and prints it.
"""

from __future__ import annotations

import argparse
import json

from edgeml.cli._args import positive_float


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("inspect", help="show a .tflite's inputs, outputs, ops, metadata and Edge TPU verdict",
                              description="Show a .tflite's inputs/outputs (shape, dtype, quantization), op "
                                          "histogram, embedded metadata and whether it is Edge-TPU-ready.")
    p.add_argument("model", metavar="MODEL", help="the .tflite model")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--probe", action="store_true",
                   help="also load and run it once in a child process (a crash there cannot take this one down)")
    p.add_argument("--timeout", type=positive_float, default=30.0, metavar="S",
                   help="seconds the --probe run may take (default: 30)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml.describe import describe
    from edgeml.model import ModelFile

    file = ModelFile.open(args.model)
    info = describe(file)
    if args.probe:
        from edgeml.interpreter.verification import verify_model

        info["probe"] = verify_model(file, probe=True, timeout=args.timeout).probe.to_dict()  # type: ignore[union-attr]
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    print(f"{info['model']}  ({info['size_bytes'] / 1024:.1f} KiB, {info['op_count']} ops)")
    for kind in ("inputs", "outputs"):
        for t in info[kind]:
            q = t.get("quantization")
            qs = (f"  scale={q['scale']:.6g} zero_point={q['zero_point']}" if q and "scale" in q else
                  f"  per-axis x{q['per_axis']}" if q else "")
            print(f"  {kind[:-1]:<7} {t['dtype']}{t['shape']}{qs}  {t['name']}")
    print("  ops:    " + ", ".join(f"{name} x{n}" for name, n in info["ops"].items()))
    meta = info["metadata"]
    print(f"  labels: {meta['labels'] or 'none embedded'}" + (
        f" ({', '.join(meta['first_labels'])}{', ...' if meta['labels'] > 5 else ''})" if meta["labels"] else ""))
    if "error" in meta:
        print(f"  metadata: {meta['error']}")
    for problem in meta.get("problems", ()):
        print(f"  metadata damaged: {problem}")
    embedding = meta.get("info", {}).get("embedding")
    if embedding:
        print(f"  embedding: {embedding['dimension']}-d {embedding['dtype']}, "
              f"{'L2-normalised' if embedding.get('normalized') else 'not normalised'} (edgeml.Embedder, edgeml learn)")
    head = meta.get("info", {}).get("head")
    if head:
        print(f"  learned on the device: {head['classes']} classes ({head['method']})")
    if "preprocessing" in meta:
        print(f"  preprocessing: {json.dumps(meta['preprocessing'], sort_keys=True)}")
    print(f"  Edge TPU: {'ready' if info['edgetpu']['ready'] else 'NOT ready'}: {info['edgetpu']['summary']}"
          + ("" if info["edgetpu"]["ready"] else f"  (details: edgeml edgetpu check {args.model})"))
    check = info["verification"]
    print("  verified: " + ("runs on this interpreter" if check["runs_here"] else check["problem"]))
    if "probe" in info:
        print(f"  probe: {info['probe']['outcome']}: {info['probe']['message']} ({info['probe']['seconds']:.1f} s)")
    return 0
