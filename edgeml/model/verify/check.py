"""The verifier's front door: structure, then meaning, each fault one :class:`ModelFormatError` line with the fix."""

from __future__ import annotations

from edgeml.errors import ModelFormatError, one_line
from edgeml.model.verify.semantic import MAX_TENSOR_BYTES, Facts, SemanticError, check_meaning
from edgeml.model.verify.structure import Layout, StructureError, verify_structure

__all__ = ["check_layout", "check_structure", "format_error"]

_DAMAGED = "The file is truncated or damaged: copy or convert it again."
_UNSOUND = "The file is damaged or was written by a faulty tool: copy it again, or convert it with edgeml convert."
_RUNTIME = ("Upgrade the interpreter (pip install -U ai-edge-litert), or convert the model for this one "
            "(edgeml convert).")


def format_error(name: str, exc: StructureError | SemanticError) -> ModelFormatError:
    """One line: the file, what is wrong and where, the fix."""
    short = one_line(name, 120)
    if isinstance(exc, StructureError):
        return ModelFormatError(f"{short!r} is not a valid TFLite flatbuffer: {one_line(exc, 200)}. {_DAMAGED}")
    if exc.runtime:
        return ModelFormatError(f"{short!r} cannot run on this interpreter: {one_line(exc, 200)}. {_RUNTIME}")
    return ModelFormatError(f"{short!r} is not a valid TFLite model: {one_line(exc, 200)}. {_UNSOUND}")


def check_structure(data: bytes | memoryview, name: str = "<bytes>") -> Layout:
    """Check ``data`` against the whole TFLite schema (:mod:`edgeml.model.verify.structure`).

    Raises:
        ModelFormatError: The first structural fault, where it is, and the fix.
    """
    try:
        return verify_structure(data)
    except StructureError as exc:
        raise format_error(name, exc) from exc


def check_layout(layout: Layout, name: str = "<bytes>", *, runtime: bool = True,
                 max_tensor_bytes: int = MAX_TENSOR_BYTES) -> Facts:
    """Check what a structurally verified model means (:mod:`edgeml.model.verify.semantic`).

    Args:
        runtime: Also require a kernel in this interpreter for every op at its version.

    Raises:
        ModelFormatError: The first fault (``runtime`` faults say to upgrade or convert instead).
    """
    try:
        return check_meaning(layout, runtime=runtime, max_tensor_bytes=max_tensor_bytes)
    except SemanticError as exc:
        raise format_error(name, exc) from exc
