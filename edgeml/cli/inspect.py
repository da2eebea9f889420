"""``edgeml inspect MODEL.tflite``: what a model takes and gives, what it is made of, what it carries.

Reads the flatbuffer directly (no interpreter, no TensorFlow): inputs and outputs with shape, dtype and
quantization; an op histogram with op versions; embedded metadata (labels, preprocessing); the Edge TPU verdict.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from edgeml.modelfile import ModelFile, Tensor


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("inspect", help="show a .tflite's inputs, outputs, ops, metadata and Edge TPU verdict",
                              description="Show a .tflite's inputs/outputs (shape, dtype, quantization), op "
                                          "histogram, embedded metadata and whether it is Edge-TPU-ready.")
    p.add_argument("model", metavar="MODEL", help="the .tflite model")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def tensor_info(t: Tensor) -> dict[str, Any]:
    """JSON-ready description of a tensor: name, shape (``-1`` = dynamic), dtype, quantization."""
    q = t.quantization
    info: dict[str, Any] = {"name": t.name, "shape": list(t.shape_signature or t.shape), "dtype": t.dtype}
    if q is not None:
        info["quantization"] = ({"scale": q.scale[0], "zero_point": q.zero_point[0]} if len(q.scale) == 1 else
                                {"per_axis": len(q.scale), "axis": q.quantized_dimension})
    return info


def _metadata(path: str) -> dict[str, Any]:
    from edgeml.errors import EdgemlError
    from edgeml.metadata import read_metadata

    try:
        meta = read_metadata(path)
    except EdgemlError as exc:  # unreadable metadata must not hide the rest of the report
        return {"labels": 0, "error": str(exc)}
    labels = getattr(meta, "labels", None)
    prep = getattr(meta, "preprocessing", None)
    out: dict[str, Any] = {"labels": len(labels) if labels else 0}
    if labels:
        out["first_labels"] = list(labels[:5])
    if prep is not None and hasattr(prep, "to_dict"):
        out["preprocessing"] = prep.to_dict()
    for key in ("output_activation", "info"):
        value = getattr(meta, key, None)
        if value:
            out[key] = value
    return out


def describe(model: ModelFile, path: str) -> dict[str, Any]:
    """Everything ``edgeml inspect`` shows, as a dict."""
    from edgeml.edgetpu.check import check_modelfile

    sg = model.main
    ops = Counter(f"{op.name} v{op.version}" for op in sg.operators)
    report = check_modelfile(model, path)
    runtime = model.metadata.get("min_runtime_version", b"").rstrip(b"\x00").decode("ascii", "replace")
    return {
        "model": path, "size_bytes": model.size, "description": model.description,
        "inputs": [tensor_info(sg.tensors[i]) for i in sg.inputs],
        "outputs": [tensor_info(sg.tensors[i]) for i in sg.outputs],
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))), "op_count": len(sg.operators),
        "subgraphs": len(model.subgraphs), "min_runtime_version": runtime or None,
        "flatbuffer_metadata": sorted(model.metadata), "metadata": _metadata(path),
        "edgetpu": {"ready": report.ready, "mapped": report.mapped, "total": report.total,
                    "summary": report.summary()},
    }


def run(args: argparse.Namespace) -> int:
    from edgeml.modelfile import read_model

    info = describe(read_model(args.model), args.model)
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
    if "preprocessing" in meta:
        print(f"  preprocessing: {json.dumps(meta['preprocessing'], sort_keys=True)}")
    print(f"  Edge TPU: {'ready' if info['edgetpu']['ready'] else 'NOT ready'}: {info['edgetpu']['summary']}"
          + ("" if info["edgetpu"]["ready"] else f"  (details: edgeml edgetpu check {args.model})"))
    return 0
