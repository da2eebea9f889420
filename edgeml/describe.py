"""What ``edgeml inspect`` reports about a model: tensors, ops, metadata and the Edge TPU verdict, from one read.

Reads the flatbuffer directly (no interpreter, no TensorFlow), so a model that would not load still gets a report.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from edgeml.edgetpu.check import check_graph
from edgeml.errors import EdgemlError
from edgeml.model.file import ModelFile
from edgeml.model.graph import Tensor

__all__ = ["describe", "tensor_info"]


def tensor_info(t: Tensor) -> dict[str, Any]:
    """JSON-ready description of a tensor: name, shape (``-1`` = dynamic), dtype, quantization."""
    q = t.quantization
    info: dict[str, Any] = {"name": t.name, "shape": list(t.shape_signature or t.shape), "dtype": t.dtype}
    if q is not None:
        info["quantization"] = ({"scale": q.scale[0], "zero_point": q.zero_point[0]} if len(q.scale) == 1 else
                                {"per_axis": len(q.scale), "axis": q.quantized_dimension})
    return info


def _metadata(model: ModelFile) -> dict[str, Any]:
    try:
        meta = model.metadata
    except EdgemlError as exc:  # unreadable metadata must not hide the rest of the report
        return {"labels": 0, "error": str(exc)}
    out: dict[str, Any] = {"labels": len(meta.labels) if meta.labels else 0}
    if meta.problems:
        out["problems"] = list(meta.problems)
    if meta.labels:
        out["first_labels"] = list(meta.labels[:5])
    if meta.preprocessing is not None:
        out["preprocessing"] = meta.preprocessing.to_dict()
    if meta.output_activation:
        out["output_activation"] = meta.output_activation
    if meta.info:
        out["info"] = meta.info
    return out


def _verification(model: ModelFile) -> dict[str, Any]:
    """The verifier's verdict for this interpreter (the file itself already passed, or nothing would be shown)."""
    try:
        facts = model.verify(runtime=True)
    except EdgemlError as exc:
        return {"runs_here": False, "problem": str(exc)}
    return {"runs_here": True, "tensor_bytes": facts.tensor_bytes, "flatbuffer_bytes": model.layout.end}


def describe(model: ModelFile) -> dict[str, Any]:
    """Everything ``edgeml inspect`` shows, as a JSON-ready dict.

    The file is verified first (:meth:`ModelFile.verify` without the interpreter's op-version check); whether
    this interpreter can run it is reported under ``"verification"``, damaged metadata under ``"metadata"``.

    Raises:
        ModelFormatError: The file fails the verifier (truncated, corrupt, indices out of range, ...).
    """
    graph = model.graph
    sg = graph.main
    ops = Counter(f"{op.name} v{op.version}" for op in sg.operators)
    report = check_graph(graph, model.name)
    runtime = graph.metadata_entries.get("min_runtime_version", b"").rstrip(b"\x00").decode("ascii", "replace")
    return {
        "model": model.name, "size_bytes": model.size, "description": graph.description,
        "inputs": [tensor_info(sg.tensors[i]) for i in sg.inputs],
        "outputs": [tensor_info(sg.tensors[i]) for i in sg.outputs],
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))), "op_count": len(sg.operators),
        "subgraphs": len(graph.subgraphs), "min_runtime_version": runtime or None,
        "flatbuffer_metadata": sorted(graph.metadata_entries), "metadata": _metadata(model),
        "verification": _verification(model),
        "edgetpu": {"ready": report.ready, "mapped": report.mapped, "total": report.total,
                    "summary": report.summary()},
    }
