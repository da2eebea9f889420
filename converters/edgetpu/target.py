"""``edgeml convert --target edgetpu``: check the int8 model offline, refuse or warn, then compile if possible.

Order: the offline check (:mod:`edgeml.edgetpu.check`) always runs and its op-by-op verdict goes to the log;
a model that would leave the Edge TPU is refused unless ``allow_cpu_ops``; one the compiler cannot even parse
(too-new op versions) is always refused. Then ``edgetpu_compiler`` runs when installed; when it is not, the
install steps are logged and the offline verdict stands.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from edgeml.edgetpu.check import CheckReport, check_model, format_ops
from edgeml.errors import CompilerNotFoundError, ConversionError
from edgeml_converters.edgetpu.compiler import CompileResult, compile_models

__all__ = ["EdgeTpuTarget", "target_edgetpu"]

log = logging.getLogger(__name__)


@dataclass
class EdgeTpuTarget:
    """The check's report, and the compiler's result (None when the compiler is not installed)."""

    check: CheckReport
    compiled: CompileResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> list[Path]:
        return self.compiled.outputs if self.compiled else []


def target_edgetpu(
    model: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    allow_cpu_ops: bool = False,
    min_runtime: int | None = None,
    segments: int | None = None,
) -> EdgeTpuTarget:
    """Check ``model`` for the Edge TPU and compile it into ``output_dir`` when edgetpu_compiler is installed.

    Raises:
        ConversionError: The check predicts ops off the TPU (and not ``allow_cpu_ops``), the compiler cannot parse
            the model, or the compiler failed.
    """
    report = check_model(model)
    log.info("Edge TPU check: %s\n%s", report.summary(), format_ops(report))
    if report.parse_errors:
        raise ConversionError(f"edgetpu_compiler 16 cannot read {str(model)!r}: {'; '.join(report.parse_errors)}. "
                              f"Fix: {report.ops[report.first_unsupported or 0].fixes[0]}. "
                              "(--allow-cpu-ops cannot help: the compiler stops before mapping anything.)")
    if not report.ready and not allow_cpu_ops:
        raise ConversionError(f"Refusing to compile for the Edge TPU: {report.summary()} Fix the ops listed above "
                              f"(edgeml edgetpu check {model}), or pass --allow-cpu-ops to accept CPU ops.")
    result = EdgeTpuTarget(report)
    if not report.ready:
        result.notes.append(f"{report.total - report.mapped} ops will run on the CPU (--allow-cpu-ops)")
        log.warning("Compiling anyway (--allow-cpu-ops): %s", report.summary())
    try:
        result.compiled = compile_models([model], output_dir, min_runtime=min_runtime, segments=segments)
    except CompilerNotFoundError as exc:
        note = f"Not compiled: {exc} The offline check predicts: {report.summary()}"
        log.warning(note)
        result.notes.append(note)
        return result
    for m in result.compiled.log.models:
        log.info("edgetpu_compiler: %s: %s/%s ops on the Edge TPU, %s subgraph(s), on-chip %s B, off-chip %s B",
                 m.output_model, m.tpu_ops, m.total_ops, m.subgraphs, m.on_chip_used, m.off_chip_used)
        if m.tpu_ops is not None and m.tpu_ops != report.mapped:
            log.warning("The compiler mapped %s ops; the offline check predicted %s.", m.tpu_ops, report.mapped)
    return result
