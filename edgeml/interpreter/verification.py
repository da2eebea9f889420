"""``edgeml.verify_model``: everything edgeml can say about a model file before trusting it.

1. The static verifier (:mod:`edgeml.model.verify`): the flatbuffer against TFLite's whole schema, then its meaning
   (indices, buffer sizes, shapes, quantization, dataflow, op versions this interpreter runs).
2. Its metadata (:attr:`edgeml.model.ModelFile.metadata`): damage says what was lost; ``strict=True`` refuses it.
3. With ``probe=True``, one real run in a child process (:mod:`edgeml.interpreter.probe`): load, allocate, invoke
   on a golden input, with a timeout, so a crash no static check could prove costs the child, not the caller.

This is the API the model store's install uses; it is stable: the arguments and :class:`Verification`'s fields
only ever gain optional additions.

Example::

    report = edgeml.verify_model("downloaded.tflite", probe=True, timeout=30)
    print(report.summary())          # "verified: 63 ops, 165 tensors, 7.3 MB of activations; probe: ok in 0.4 s"
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from edgeml.errors import ModelFormatError
from edgeml.interpreter.probe import ProbeResult, probe_model
from edgeml.model.file import ModelFile
from edgeml.model.verify import Facts

__all__ = ["Verification", "verify_model"]


@dataclass(frozen=True)
class Verification:
    """What :func:`verify_model` established about a model that passed.

    Attributes:
        model: The file's name.
        facts: Counts from the static checks (subgraphs, tensors, ops, activation bytes, op names, classes).
        flatbuffer_bytes: Where the flatbuffer ends (an appended metadata zip follows).
        metadata_problems: What damaged metadata lost (empty when intact).
        probe: The child-process run, or None when not asked for.
        seconds: Time the static checks took.
    """

    model: str
    facts: Facts
    flatbuffer_bytes: int
    metadata_problems: tuple[str, ...]
    probe: ProbeResult | None
    seconds: float

    def summary(self) -> str:
        """One line: what was checked and how it went."""
        f = self.facts
        text = (f"verified in {self.seconds * 1000:.1f} ms: {f.operators} ops, {f.tensors} tensors, "
                f"{f.tensor_bytes / 1e6:.1f} MB of activations")
        if self.metadata_problems:
            text += f"; metadata damaged: {self.metadata_problems[0]}"
        if self.probe is not None:
            text += f"; probe: {self.probe.outcome} in {self.probe.seconds:.1f} s"
        return text

    def to_dict(self) -> dict[str, Any]:
        f = self.facts
        return {"model": self.model, "subgraphs": f.subgraphs, "operators": f.operators, "tensors": f.tensors,
                "buffers": f.buffers, "tensor_bytes": f.tensor_bytes, "classes": f.classes,
                "flatbuffer_bytes": self.flatbuffer_bytes, "metadata_problems": list(self.metadata_problems),
                "probe": self.probe.to_dict() if self.probe else None, "seconds": round(self.seconds, 6)}


def verify_model(model: ModelFile | str | os.PathLike[str], *, probe: bool = False, timeout: float = 30.0,
                 strict: bool = False, backend: str = "auto") -> Verification:
    """Verify a model file; with ``probe=True`` also run it once in a child process.

    Args:
        model: A path or a :class:`~edgeml.model.ModelFile`.
        probe: Load, allocate and invoke it once on a golden input in ``sys.executable -m
            edgeml.interpreter.probe``, so a crash costs the child only.
        timeout: Seconds the probe may take before it is killed.
        strict: Refuse damaged metadata (otherwise it is reported in ``metadata_problems``).
        backend: Interpreter package for the probe.

    Returns:
        A :class:`Verification` (the model passed everything asked for).

    Raises:
        ModelNotFoundError: The file does not exist.
        ModelFormatError: The verifier found a fault; the metadata is invalid (or damaged, with ``strict``); or
            the probe failed: an error in the child, a crash (the message names the signal; the model was not
            loaded in this process) or a timeout.
        LabelsError: Its embedded labels are out of bounds.
    """
    file = model if isinstance(model, ModelFile) else ModelFile.open(model)
    t0 = time.perf_counter()
    facts = file.verify()
    seconds = time.perf_counter() - t0
    problems = file.metadata.problems
    if strict and problems:
        raise ModelFormatError(f"{file.name!r} has damaged metadata (strict): {problems[0]}. Re-run `edgeml "
                               "convert` to rewrite it.")
    result = None
    if probe:
        result = probe_model(file, timeout=timeout, backend=backend)
        if not result.ok:
            raise ModelFormatError(_probe_message(file.name, result))
    return Verification(file.name, facts, file.layout.end, problems, result, seconds)


def _probe_message(name: str, result: ProbeResult) -> str:
    if result.outcome == "signal":
        return (f"{name!r} crashed the interpreter ({result.signal}) in a child process; it was not loaded in this "
                "process. Do not use it: convert it again, or report the model.")
    if result.outcome == "timeout":
        return f"{name!r} did not finish one run in a child process ({result.message}); it was not loaded here."
    return f"{name!r} failed its probe run in a child process: {result.message}"
