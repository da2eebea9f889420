"""Parse what edgetpu_compiler prints (stdout) and writes (``<model>_edgetpu.log``) into one report per model.

Formats handled (tested on logs published in Coral's issue tracker, compilers 2.1 to 16.0):

- stdout: ``Edge TPU Compiler version V``, then per compiled model ``Input model:`` / ``Input size:`` /
  ``Output model:`` / memory lines / ``Number of Edge TPU subgraphs`` / ``Total number of operations`` /
  ``Operation log:``, optionally ``Number of operations that will run on Edge TPU|CPU: N``, then an
  ``Operator  Count  Status`` table. Co-compiled models and ``-n`` segments repeat the per-model block.
- the ``.log`` file: ``Input:`` / ``Output:`` then the same table.
- failures: ``ERROR: ...`` lines (e.g. ``Didn't find op for builtin opcode 'CONV_2D' version '6'``),
  ``Compilation failed...``, ``Invalid model``, ``Internal compiler error``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CompiledModel", "CompilerLog", "OpStatus", "parse_compiler_log", "parse_size"]

MAPPED = "Mapped to Edge TPU"
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
_ROW = re.compile(r"^(\S+)\s{2,}(\d+)\s{2,}(\S.*?)\s*$")
_VERSION_ERROR = re.compile(r"builtin opcode '(\w+)' version '(\d+)'")
_FIELDS = {
    "Input size": "input_size", "Output size": "output_size",
    "On-chip memory used for caching model parameters": "on_chip_used",
    "On-chip memory remaining for caching model parameters": "on_chip_remaining",
    "Off-chip memory used for streaming uncached model parameters": "off_chip_used",
}


def parse_size(text: str) -> int | None:
    """``"5.90MiB"`` → bytes (binary units as the compiler prints them; ``KB``/``MB`` as decimal)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMG]?i?B)\s*", text)
    return round(float(m.group(1)) * _UNITS[m.group(2)]) if m and m.group(2) in _UNITS else None


@dataclass(frozen=True)
class OpStatus:
    """One row of the ``Operator  Count  Status`` table."""

    op: str
    count: int
    status: str

    @property
    def mapped(self) -> bool:
        return self.status == MAPPED


@dataclass
class CompiledModel:
    """The compiler's report for one input model (or one ``-n`` segment)."""

    input_model: str | None = None
    output_model: str | None = None
    log_file: str | None = None
    input_size: int | None = None
    output_size: int | None = None
    on_chip_used: int | None = None
    on_chip_remaining: int | None = None
    off_chip_used: int | None = None
    subgraphs: int | None = None
    total_ops: int | None = None
    tpu_ops_reported: int | None = None
    cpu_ops_reported: int | None = None
    ops: list[OpStatus] = field(default_factory=list)

    @property
    def tpu_ops(self) -> int | None:
        """Ops on the Edge TPU: as printed, else from the table, else all (the compiler prints no count then)."""
        if self.tpu_ops_reported is not None:
            return self.tpu_ops_reported
        if self.cpu_ops_reported is None and self.total_ops is not None and (
                not self.ops or all(o.mapped for o in self.ops)):
            return self.total_ops
        return sum(o.count for o in self.ops if o.mapped) if self.ops else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tpu_ops": self.tpu_ops, "ops": [asdict(o) for o in self.ops]}


@dataclass
class CompilerLog:
    """Everything parsed from one compiler run."""

    compiler_version: str | None = None
    models: list[CompiledModel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: bool = False

    @property
    def rejected_op_versions(self) -> list[tuple[str, int]]:
        """``[("CONV_2D", 6)]`` for each "Didn't find op for builtin opcode" error."""
        return [(m.group(1), int(m.group(2))) for e in self.errors for m in [_VERSION_ERROR.search(e)] if m]

    def to_dict(self) -> dict[str, Any]:
        return {"compiler_version": self.compiler_version, "failed": self.failed, "errors": self.errors,
                "rejected_op_versions": self.rejected_op_versions, "models": [m.to_dict() for m in self.models]}


def parse_compiler_log(text: str) -> CompilerLog:
    """Parse edgetpu_compiler stdout/stderr or its ``.log`` file (see the module docstring)."""
    log = CompilerLog()
    current: CompiledModel | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if line.startswith("Edge TPU Compiler version"):
            log.compiler_version = line.rsplit(" ", 1)[-1]
        elif key in ("Input model", "Input"):
            current = CompiledModel(input_model=value)
            log.models.append(current)
        elif line.startswith("ERROR:") or line.startswith("Compilation failed") or line.startswith(
                ("Invalid model", "Internal compiler error", "Model could not be parsed")):
            log.errors.append(line.removeprefix("ERROR:").strip())
            log.failed = log.failed or not line.startswith("ERROR: Restored")
        elif current is None:
            continue
        elif key in ("Output model", "Output"):
            current.output_model = value
        elif key == "Operation log":
            current.log_file = value
        elif key in _FIELDS:
            setattr(current, _FIELDS[key], parse_size(value))
        elif key == "Number of Edge TPU subgraphs":
            current.subgraphs = int(value)
        elif key == "Total number of operations":
            current.total_ops = int(value)
        elif key == "Number of operations that will run on Edge TPU":
            current.tpu_ops_reported = int(value)
        elif key == "Number of operations that will run on CPU":
            current.cpu_ops_reported = int(value)
        elif row := _ROW.match(line):
            current.ops.append(OpStatus(row.group(1), int(row.group(2)), row.group(3)))
    return log
