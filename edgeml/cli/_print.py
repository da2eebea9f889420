"""What the commands print on stdout: JSON objects one per line (from ``to_dict()``), and a stream result's line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeml.streaming import StreamResult

__all__ = ["print_json", "print_result"]


def print_json(obj: Any) -> None:
    """One JSON object on its own line, flushed (a pipe reader sees each as it happens)."""
    print(json.dumps(obj), flush=True)


def print_result(result: StreamResult, as_json: bool) -> None:
    """One stream result on stdout: its JSON object, or a human line (``frame N (ms) labels [model version]``)."""
    if as_json:
        print_json(result.to_dict())
    elif result.error:
        print(f"error: {result.error}", flush=True)
    else:
        top = ", ".join(f"{r.label} {r.score:.1%}" for r in result.results)
        version = result.model.get("version") if result.model else None
        tag = f"  [{result.model['name']} {version}]" if version is not None and result.model else ""
        print(f"frame {result.index}  ({result.latency_ms:.1f} ms)  {top}{tag}", flush=True)
