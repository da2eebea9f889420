"""Predict, without the compiler, which ops of a .tflite edgetpu_compiler 16 maps to the Edge TPU, and why not.

The compiler works in graph order and cuts once: every op from the first unsupported one onward runs on the CPU,
even supported ones. An op version newer than it can parse stops it before that: nothing compiles. So per op:

1. can the compiler parse it (op code, op version: :data:`rules.MAX_VERSION`);
2. is it an Edge TPU op (:data:`rules.SUPPORTED`);
3. are its tensors 8-bit (int8/uint8), static, with at most the 3 innermost dimensions > 1;
4. Coral's per-op limitations (fused activations, dilation, batch-dimension reductions, strided slices, ...).

Example::

    report = check_model("model_int8.tflite")
    print(report.summary())             # "9/9 ops (100%) predicted on the Edge TPU ..."
    for op in report.ops:               # graph order, with reasons and fixes
        print(op.index, op.op, op.status, op.reasons)
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from edgeml.edgetpu import rules
from edgeml.model.file import ModelFile
from edgeml.model.graph import Graph, Operator, Subgraph

__all__ = ["CheckReport", "OpVerdict", "check_graph", "check_model", "format_ops"]

Status = Literal["tpu", "cpu", "cpu_after_cut", "blocked"]
_EIGHT_BIT = ("int8", "uint8")
_ON_CHIP_BYTES = 8 * 1024 * 1024  # Edge TPU SRAM for parameter caching (~8 MiB)


@dataclass(frozen=True)
class OpVerdict:
    """The prediction for one op. ``status``: ``"tpu"``; ``"cpu"`` (this op is the problem); ``"cpu_after_cut"``
    (supported, but after the first unsupported op); ``"blocked"`` (the compiler cannot parse the model)."""

    index: int
    op: str
    version: int
    status: Status
    reasons: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": list(self.reasons), "fixes": list(self.fixes)}


@dataclass(frozen=True)
class CheckReport:
    """Edge TPU readiness of one model.

    Attributes:
        first_unsupported: Index of the op where the graph leaves the TPU, or None.
        parse_errors: Ops the compiler cannot even read (too-new op version or code): nothing would compile.
        notes: Model-level observations that do not block mapping (e.g. parameters above on-chip memory).
    """

    model: str
    ops: tuple[OpVerdict, ...]
    first_unsupported: int | None
    parse_errors: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.ops)

    @property
    def mapped(self) -> int:
        return sum(op.status == "tpu" for op in self.ops)

    @property
    def fraction(self) -> float:
        return self.mapped / self.total if self.total else 0.0

    @property
    def ready(self) -> bool:
        """True when every op is predicted to run on the Edge TPU."""
        return self.total > 0 and self.mapped == self.total

    def summary(self) -> str:
        head = f"{self.mapped}/{self.total} ops ({self.fraction:.0%}) predicted on the Edge TPU"
        if self.parse_errors:
            return head + f": edgetpu_compiler {rules.COMPILER_VERSION} cannot parse it: " + "; ".join(
                self.parse_errors)
        if self.first_unsupported is None:
            return head + (": fully mapped." if self.ready else f": {self.notes[0]}." if self.notes else ".")
        op = self.ops[self.first_unsupported]
        more = f" and {len(op.reasons) - 1} more" if len(op.reasons) > 1 else ""
        return (head + f"; the graph leaves the TPU at op {op.index} {op.op} v{op.version} ({op.reasons[0]}{more}), "
                f"so it and the {self.total - op.index - 1} ops after it run on the CPU.")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "ready": self.ready, "mapped": self.mapped, "total": self.total,
                "fraction": round(self.fraction, 4), "first_unsupported": self.first_unsupported,
                "parse_errors": list(self.parse_errors), "notes": list(self.notes), "summary": self.summary(),
                "ops": [op.to_dict() for op in self.ops]}


def _tensor_problems(op: Operator, sg: Subgraph) -> list[str]:
    problems = []
    for i in (*op.inputs, *op.outputs):
        if i < 0:
            continue
        t = sg.tensors[i]
        if t.is_constant and t.dtype == "int32":  # biases, shapes and axes are int32 by design
            continue
        if t.dtype not in _EIGHT_BIT:
            problems.append(f"tensor {t.name!r} is {t.dtype}, the Edge TPU runs only 8-bit (int8/uint8) tensors")
        if t.is_dynamic:
            problems.append(f"tensor {t.name!r} has a dynamic shape {t.shape_signature}")
        if len(t.shape) > 3 and any(d > 1 for d in t.shape[:-3]) and not t.is_constant:
            problems.append(f"tensor {t.name!r} shape {t.shape} has more than the 3 innermost dimensions > 1")
    return problems


def _axes(model: Graph, sg: Subgraph, op: Operator, position: int) -> np.ndarray | None:
    if len(op.inputs) <= position or op.inputs[position] < 0:
        return None
    return model.constant(sg.tensors[op.inputs[position]])


def _op_limits(model: Graph, sg: Subgraph, op: Operator) -> list[str]:
    """Coral's documented per-op limitations."""
    o, problems = op.options, []
    t = sg.tensors
    if op.name in rules.NO_FUSED_ACTIVATION and o.get("fused_activation", "NONE") != "NONE":
        problems.append(f"fused activation {o['fused_activation']} is not supported on {op.name}")
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D") and o.get("dilation_w", 1) != o.get("dilation_h", 1):
        problems.append(f"dilation differs in x and y ({o['dilation_w']} vs {o['dilation_h']})")
    if op.name == "FULLY_CONNECTED":
        if o.get("weights_format", 0) != 0:
            problems.append("fully-connected weights are not in the default format")
        if op.outputs and sum(d > 1 for d in t[op.outputs[0]].shape) > 1:
            problems.append(f"output shape {t[op.outputs[0]].shape} is not one-dimensional")
    if op.name == "SOFTMAX" and op.inputs:
        shape = t[op.inputs[0]].shape
        if sum(d > 1 for d in shape) > 1 or int(np.prod(shape)) > 16000:
            problems.append(f"input shape {shape} is not 1-D with at most 16,000 elements")
    if op.name in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN"):
        axes = _axes(model, sg, op, 1)
        rank = len(t[op.inputs[0]].shape)
        if axes is not None and rank > 1 and any(int(a) % rank == 0 for a in np.ravel(axes)):
            problems.append(f"reduces over the batch dimension (axes {np.ravel(axes).tolist()})")
    if op.name in ("PAD", "PADV2"):
        pads = _axes(model, sg, op, 1)
        if pads is not None and pads.size >= 2 and np.any(np.ravel(pads)[:2] != 0):
            problems.append(f"pads the batch dimension (paddings {pads.tolist()})")
    if op.name == "STRIDED_SLICE":
        strides = _axes(model, sg, op, 3)
        if strides is not None and np.any(strides != 1):
            problems.append(f"strides {np.ravel(strides).tolist()} are not all 1")
        if o.get("ellipsis_mask") or o.get("new_axis_mask"):
            problems.append("ellipsis or new-axis mask is set")
    if op.name == "CONCATENATION":
        consts = [model.constant(t[i]) for i in op.inputs if i >= 0 and t[i].is_constant]
        if consts and (len(op.inputs) != 2 or any(c is None or np.any(c != 0) for c in consts)):
            problems.append("a constant input is allowed only as one of 2 inputs and only if all zeros")
    if op.name == "PRELU" and len(op.inputs) > 1 and sum(d > 1 for d in t[op.inputs[1]].shape[:-1]):
        problems.append(f"alpha shape {t[op.inputs[1]].shape} is not 1-dimensional (use shared_axes=[1, 2])")
    return problems


def _parse_error(op: Operator) -> str | None:
    if op.is_custom:
        return None
    if op.builtin_code > rules.COMPILER_MAX_BUILTIN_CODE:
        return f"{op.name} (builtin code {op.builtin_code}) is newer than the compiler's schema"
    limit = rules.MAX_VERSION.get(op.name, 1)
    if op.version > limit:
        return f"{op.name} version {op.version} is newer than it reads (max {limit})"
    return None


def _verdict(model: Graph, sg: Subgraph, op: Operator) -> OpVerdict:
    if op.name == "edgetpu-custom-op":
        return OpVerdict(op.index, op.name, op.version, "tpu", ("already compiled for the Edge TPU",))
    reasons, fixes = [], []
    if op.is_custom:
        reasons.append(f"custom op {op.name!r} cannot run on the Edge TPU")
        fixes.append("rebuild the model from builtin TFLite ops")
    elif op.name not in rules.SUPPORTED:
        reasons.append(f"{op.name} is not an Edge TPU operation")
        fixes.append(rules.UNSUPPORTED_FIXES.get(op.name, rules.UNSUPPORTED_FIX_DEFAULT))
    tensor_problems = _tensor_problems(op, sg)
    reasons += tensor_problems
    if any("8-bit" in p for p in tensor_problems):
        fixes.append("quantize the whole model to int8: edgeml convert --quantize int8 (full integer, uint8 I/O)")
    if any("dynamic" in p for p in tensor_problems):
        fixes.append("give the model a static (1, H, W, C) input: edgeml convert pins batch size 1")
    if any("innermost" in p for p in tensor_problems):
        fixes.append("reshape so that at most the 3 innermost dimensions are > 1 (e.g. fold a 5-D tensor)")
    if op.name in rules.SUPPORTED and not op.is_custom:
        limits = _op_limits(model, sg, op)
        reasons += limits
        if limits:
            fixes.append(f"Coral's limitation for {op.name}: {rules.SUPPORTED[op.name]}")
    return OpVerdict(op.index, op.name, op.version, "cpu" if reasons else "tpu", tuple(reasons), tuple(fixes))


def check_graph(model: Graph, name: str = "<model>") -> CheckReport:
    """Check a parsed model (see :func:`check_model`)."""
    sg = model.main
    if any(op.name == "edgetpu-custom-op" for op in sg.operators):
        return _compiled_report(sg, name)
    parse_errors: list[str] = []
    verdicts: list[OpVerdict] = []
    first: int | None = None
    for op in sg.operators:
        error = _parse_error(op)
        if error:
            parse_errors.append(f"op {op.index} {error}")
        v = _verdict(model, sg, op)
        if error:
            fix = rules.VERSION_FIXES.get((op.name, op.version), rules.VERSION_FIX_DEFAULT)
            v = OpVerdict(v.index, v.op, v.version, "cpu", (error, *v.reasons), (fix, *v.fixes))
        if first is None and v.status == "cpu":
            first = op.index
        elif first is not None and v.status == "tpu":
            v = OpVerdict(v.index, v.op, v.version, "cpu_after_cut",
                          (f"supported, but after the first unsupported op ({first})",), ())
        verdicts.append(v)
    if parse_errors:
        verdicts = [v if v.status == "cpu" else OpVerdict(v.index, v.op, v.version, "blocked",
                    ("the compiler stops before mapping anything: see parse errors",), ()) for v in verdicts]
    notes = []
    params = sum(t.is_constant and t.dtype in _EIGHT_BIT and int(np.prod(t.shape)) for t in sg.tensors)
    if params > _ON_CHIP_BYTES:
        notes.append(f"{params / 2**20:.1f} MiB of 8-bit parameters exceed the ~8 MiB on-chip memory: the rest "
                     "is streamed from host memory each inference (slower); see edgetpu_compiler's report")
    if len(model.subgraphs) > 1:
        notes.append(f"{len(model.subgraphs)} subgraphs: only the first (main graph) is checked")
    return CheckReport(name, tuple(verdicts), first, tuple(parse_errors), tuple(notes))


def _compiled_report(sg: Subgraph, name: str) -> CheckReport:
    """A model edgetpu_compiler already wrote: report what is inside and outside its Edge TPU custom ops."""
    verdicts = tuple(
        OpVerdict(op.index, op.name, op.version, "tpu", ("compiled Edge TPU segment",)) if op.name ==
        "edgetpu-custom-op" else OpVerdict(op.index, op.name, op.version, "cpu",
                                           ("outside the compiled Edge TPU segment: runs on the CPU",)) for op in
        sg.operators)
    cpu = sum(v.status == "cpu" for v in verdicts)
    return CheckReport(name, verdicts, None, (), (
        f"already compiled by edgetpu_compiler: {len(verdicts) - cpu} Edge TPU segment(s), {cpu} ops on the CPU; "
        "check the model from before compilation for op-by-op reasons",))


def check_model(model: str | os.PathLike[str] | ModelFile) -> CheckReport:
    """Predict, op by op, the Edge TPU mapping of ``model`` (a path or a :class:`ModelFile`; no TensorFlow needed).

    Raises:
        ModelNotFoundError, ModelFormatError: The file is missing or not a TFLite flatbuffer.
    """
    file = model if isinstance(model, ModelFile) else ModelFile.open(model)
    return check_graph(file.graph, file.name)


def format_ops(report: CheckReport, everything: bool = False) -> str:
    """Return the op-by-op table: index, op, version, verdict, then why and what to change."""
    lines = [f"  {'#':>4}  {'op':<26}{'ver':>4}  verdict"]
    for op in report.ops:
        if not everything and op.status == "tpu":
            continue
        lines.append(f"  {op.index:>4}  {op.op:<26}{op.version:>4}  {op.status.upper().replace('_', ' ')}")
        if op.status == "blocked":  # the reason is the parse error printed in the summary
            continue
        lines += [f"          why: {r}" for r in op.reasons]
        lines += [f"          fix: {f}" for f in op.fixes]
    if len(lines) == 1:
        lines.append(f"        all {report.total} ops map to the Edge TPU (--all lists them)")
    return "\n".join(lines)
