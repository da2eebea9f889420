"""Run Coral's ``edgetpu_compiler`` when it is installed, and turn its output into a report.

The compiler is an x86-64 Linux binary from Coral's apt repository; it cannot be installed on ARM hosts (a
Raspberry Pi) or outside Debian-like systems. When it is missing, :func:`find_compiler` raises
:class:`~edgeml.errors.CompilerNotFoundError` with the install steps, and callers still have the offline
prediction of :mod:`edgeml.edgetpu.check`.

Example::

    result = compile_models(["out/model_int8.tflite"], "out/", min_runtime=14)
    print(result.outputs[0], result.log.models[0].tpu_ops, "/", result.log.models[0].total_ops)
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgeml.edgetpu import install
from edgeml.errors import CompilerNotFoundError, ConversionError, InvalidArgumentError
from edgeml_converters.edgetpu.log import CompilerLog, parse_compiler_log

__all__ = ["INSTALL_HINT", "CompileResult", "compile_models", "find_compiler", "output_names"]

INSTALL_HINT = f"Install it {install.COMPILER}"


@dataclass
class CompileResult:
    """What one compiler run produced: the ``*_edgetpu.tflite`` files (input order), the parsed log, raw text."""

    outputs: list[Path]
    log: CompilerLog
    command: list[str]
    text: str


def find_compiler() -> str:
    """Return the compiler's path: ``$EDGETPU_COMPILER`` if set, else ``edgetpu_compiler`` on PATH.

    Raises:
        CompilerNotFoundError: Not installed (the message has the install steps).
    """
    named = os.environ.get("EDGETPU_COMPILER")
    if named:
        found = shutil.which(named)
        if found is None:
            raise CompilerNotFoundError(f"EDGETPU_COMPILER={named!r} is not an executable file. {INSTALL_HINT}")
        return found
    found = shutil.which("edgetpu_compiler")
    if found is None:
        machine = platform.machine()
        where = "" if machine in ("x86_64", "AMD64") else f" (this host is {machine}; the compiler is x86-64 only)"
        raise CompilerNotFoundError(f"edgetpu_compiler is not installed{where}. {INSTALL_HINT}")
    return found


def output_names(model: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                 segments: int | None = None) -> list[Path]:
    """The files the compiler writes for ``model``: ``<stem>_edgetpu.tflite``, or one per ``-n`` segment."""
    stem, out = Path(model).stem, Path(output_dir)
    if segments and segments > 1:
        return [out / f"{stem}_segment_{i}_of_{segments}_edgetpu.tflite" for i in range(segments)]
    return [out / f"{stem}_edgetpu.tflite"]


def compile_models(
    models: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    min_runtime: int | None = None,
    segments: int | None = None,
    timeout: float = 600.0,
) -> CompileResult:
    """Compile (co-compile, when several) ``models`` with ``edgetpu_compiler -s -o OUT [-m N] [-n N]``.

    Args:
        models: int8 ``.tflite`` files. Several are co-compiled so they share the on-chip parameter cache.
        output_dir: Where the ``*_edgetpu.tflite`` and ``*_edgetpu.log`` files go (created if missing).
        min_runtime: ``-m``: the oldest Edge TPU runtime (libedgetpu) the model must load on, e.g. 13 or 14.
        segments: ``-n``: split each model into this many segments for pipelining over several TPUs.

    Raises:
        CompilerNotFoundError: The compiler is not installed.
        ConversionError: The compiler failed; the message quotes its errors and the fix.
        InvalidArgumentError: No model, or ``segments`` < 1.
    """
    if not models:
        raise InvalidArgumentError("compile_models needs at least one .tflite model.")
    if segments is not None and segments < 1:
        raise InvalidArgumentError(f"segments must be >= 1. Received: {segments}")
    compiler = find_compiler()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [compiler, "-s", "-o", str(out)]
    if min_runtime is not None:
        cmd += ["-m", str(min_runtime)]
    if segments is not None and segments > 1:
        cmd += ["-n", str(segments)]
    cmd += [str(m) for m in models]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ConversionError(f"edgetpu_compiler did not finish in {timeout:.0f} s: {' '.join(cmd)}. "
                              "Compile fewer models at once or raise the timeout.") from exc
    text = proc.stdout + ("\n" + proc.stderr if proc.stderr else "")
    log = parse_compiler_log(text)
    if proc.returncode != 0 or log.failed:
        raise ConversionError(_failure_message(log, proc.returncode, text))
    outputs = [p for m in models for p in output_names(m, out, segments)]
    missing = [str(p) for p in outputs if not p.is_file()]
    if missing:
        raise ConversionError(f"edgetpu_compiler reported success but did not write {missing}. Output:\n{text}")
    return CompileResult(outputs, log, cmd, text)


def _failure_message(log: CompilerLog, returncode: int, text: str) -> str:
    from edgeml.edgetpu.rules import VERSION_FIX_DEFAULT, VERSION_FIXES

    lines = text.strip().splitlines()
    errors = "; ".join(log.errors) or (lines[-1] if lines else "no output")
    fixes = []
    for op, version in log.rejected_op_versions:
        fixes.append(f"{op} v{version}: {VERSION_FIXES.get((op, version), VERSION_FIX_DEFAULT)}")
    if any("large activation" in e for e in log.errors):
        fixes.append("reduce the input size, or split the model with -n/--segments")
    if not fixes:
        fixes.append("run `edgeml edgetpu check MODEL` to see which ops the Edge TPU cannot take")
    return (f"edgetpu_compiler {log.compiler_version or ''} failed (exit {returncode}): {errors}. "
            f"Fix: {'; '.join(fixes)}")
