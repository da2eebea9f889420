"""Open a model on a device: the interpreter for the CPU, or with the Edge TPU delegate; fallback said out loud.

This is the one place a model becomes an interpreter, whatever the device. The model file is read once
(:class:`~edgeml.model.ModelFile`) and its bytes go to the interpreter as ``model_content``, so the Edge TPU
marker, the metadata and the graph come from the same read. Edge TPU code (:mod:`edgeml.edgetpu.delegate`, which
loads ``libedgetpu.so.1``) is imported only when a TPU device is asked for.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeml._native_log import TFLITE_NOISE, filtered_stderr
from edgeml.errors import (
    EdgemlError,
    EdgeTpuError,
    InterpreterUnavailableError,
    InvalidArgumentError,
    ModelFormatError,
    one_line,
)
from edgeml.interpreter.backends import Backend, load_backend
from edgeml.interpreter.devices import check_fallback, parse_device
from edgeml.model.file import ModelFile

__all__ = ["ModelInput", "Opened", "as_model_file", "open_interpreter", "open_model"]

log = logging.getLogger(__name__)

ModelInput = ModelFile | str | os.PathLike  # what every opener accepts: a path, or a file already read


def as_model_file(model: ModelInput) -> ModelFile:
    """Return ``model`` as a :class:`ModelFile`, reading it when given a path (once)."""
    return model if isinstance(model, ModelFile) else ModelFile.open(model)


def open_interpreter(
    model: ModelInput,
    *,
    num_threads: int | None = None,
    delegates: list[Any] | None = None,
    backend: str = "auto",
) -> tuple[Any, Backend]:
    """Open ``model`` with the chosen interpreter package and allocate its tensors.

    Args:
        model: A :class:`ModelFile` or the path of a ``.tflite`` file.
        num_threads: CPU threads for the interpreter's kernels (None: the backend's default).
        delegates: Delegates from ``Backend.load_delegate`` (e.g. the Edge TPU's), or None.
        backend: See :func:`edgeml.interpreter.backends.load_backend`.

    Returns:
        ``(interpreter, backend)`` with tensors allocated.

    Raises:
        ModelNotFoundError, ModelFormatError: Missing, not a TFLite model, corrupt or truncated.
        InterpreterUnavailableError: No usable interpreter package.
        InvalidArgumentError: ``num_threads`` < 1.
    """
    if num_threads is not None and num_threads < 1:
        raise InvalidArgumentError(f"num_threads must be >= 1. Received: {num_threads}")
    file = as_model_file(model)
    file.verify()  # nothing reaches native code before the verifier passed it (edgeml.model.verify)
    chosen = load_backend(backend)
    # The interpreter keeps a reference to the bytes (the buffer must outlive it); nothing is copied.
    kwargs: dict[str, Any] = {"model_content": file.data}
    if num_threads is not None:
        kwargs["num_threads"] = num_threads
    if delegates:
        kwargs["experimental_delegates"] = delegates
    with filtered_stderr(TFLITE_NOISE):
        interpreter = _create(chosen, file.name, kwargs)
    return interpreter, chosen


def _create(chosen: Backend, name: str, kwargs: dict[str, Any]) -> Any:
    try:
        interpreter = chosen.interpreter_class(**kwargs)
    except ValueError as exc:
        raise ModelFormatError(
            f"{name!r} could not be loaded by {chosen.name}: {one_line(exc)}. The file is corrupt or truncated; "
            "copy or convert it again."
        ) from exc
    except SystemError as exc:  # numpy ABI mismatch inside a compiled interpreter
        raise InterpreterUnavailableError(
            f"{chosen.name} failed while creating the interpreter ({one_line(exc)}); this is the numpy 1/2 ABI break. "
            'Fix: pip install ai-edge-litert, or pip install "numpy<2"'
        ) from exc
    try:
        interpreter.allocate_tensors()
    except RuntimeError as exc:
        message = str(exc)
        if "edgetpu-custom-op" in message:
            raise ModelFormatError(
                f"{name!r} was compiled for the Edge TPU and needs the Edge TPU delegate; "
                "pass device='usb' or 'pci' (libedgetpu1-std), or use the model from before edgetpu_compiler."
            ) from exc
        raise ModelFormatError(f"{name!r} cannot be run by {chosen.name}: {one_line(message)}. The file is damaged "
                               "or was written by a faulty tool: copy it again, or convert it again.") from exc
    return interpreter


@dataclass
class Opened:
    """An interpreter opened for a device: which device, and which model file actually runs.

    Attributes:
        model: The file running (the CPU fallback of an ``_edgetpu`` model runs its uncompiled twin).
        notes: What the caller should know: a fallback taken, a model not compiled for the TPU it runs on.
    """

    interpreter: Any
    backend: Backend
    device: str
    model: ModelFile
    notes: list[str] = field(default_factory=list)

    @property
    def model_path(self) -> Path:
        return self.model.path


def open_model(
    model: ModelInput,
    *,
    device: str = "cpu",
    fallback: str | None = None,
    num_threads: int | None = None,
    delegates: list[Any] | None = None,
    backend: str = "auto",
    root: str | os.PathLike[str] = "/",
) -> Opened:
    """Open ``model`` on ``device``; with ``fallback="cpu"`` an unusable Edge TPU means the CPU, with a warning.

    Args:
        model: A :class:`ModelFile` or a path.
        device: ``"cpu"``, or an Edge TPU (:data:`edgeml.interpreter.devices.DEVICES`).
        fallback: None (raise when the Edge TPU cannot be used) or ``"cpu"``.
        num_threads, delegates, backend: See :func:`open_interpreter`.
        root: File-system root where Edge TPUs are looked up after a failure (recorded trees in tests).

    Raises:
        EdgeTpuError: The Edge TPU cannot be used (and no fallback was asked), or an ``_edgetpu`` model was asked
            to run on the CPU, or the model needs a newer Edge TPU runtime than installed.
        InvalidArgumentError: Unknown ``device`` or ``fallback``.
    """
    kind, _ = parse_device(device)
    check_fallback(fallback)
    file = as_model_file(model)
    if kind == "cpu":
        if file.compiled_for_edgetpu:
            from edgeml.edgetpu.delegate import compiled_on_cpu_error

            raise compiled_on_cpu_error(file.path)
        interpreter, chosen = open_interpreter(file, num_threads=num_threads, delegates=delegates, backend=backend)
        return Opened(interpreter, chosen, "cpu", file)
    from edgeml.edgetpu import delegate as tpu

    chosen_backend = load_backend(backend)
    try:
        edgetpu = tpu.load_edgetpu_delegate(device, load_delegate=chosen_backend.load_delegate, root=root)
        try:
            interpreter, chosen = open_interpreter(file, num_threads=num_threads, backend=backend,
                                                   delegates=[*(delegates or []), edgetpu])
        except EdgemlError as exc:
            mismatch = tpu.runtime_mismatch(str(exc))
            if mismatch is None:
                raise
            raise tpu.runtime_error(file.path, mismatch) from exc
    except EdgeTpuError as exc:
        if fallback != "cpu":
            raise
        cpu_file = ModelFile.open(tpu.cpu_twin(file.path, exc)) if file.compiled_for_edgetpu else file
        log.warning("Edge TPU unavailable (%s); running %s on the CPU because fallback='cpu'. %s",
                    exc.reason, cpu_file.path, exc)
        interpreter, chosen = open_interpreter(cpu_file, num_threads=num_threads, delegates=delegates,
                                               backend=backend)
        return Opened(interpreter, chosen, "cpu", cpu_file, [f"fell back to the CPU: {exc.reason}"])
    opened = Opened(interpreter, chosen, device, file)
    if not file.compiled_for_edgetpu:
        note = (f"{file.path.name} is not compiled for the Edge TPU, so every op runs on the CPU. Compile it: "
                "edgeml convert --target edgetpu, or edgetpu_compiler on an x86-64 host.")
        log.warning(note)
        opened.notes.append(note)
    return opened
