"""Run a model once in a child process: load, allocate, one invoke on a golden input, with a timeout.

The verifier (:mod:`edgeml.model.verify`) proves what a static check can: structure, indices, sizes. What it cannot
prove (a kernel that overflows on values it accepts) costs nothing here: the child crashes, not the caller. The
parent classifies the outcome:

- ``ok``: it loaded, allocated and ran; the outputs are summarised;
- ``error``: an :class:`~edgeml.EdgemlError` in the child (its class and one-line message);
- ``signal``: the child was killed by a signal (``SIGSEGV``, ``SIGABRT``, ...): the model crashes the interpreter;
- ``timeout``: no answer within the timeout (killed);
- ``skipped``: nothing to run on this machine's CPU (a model compiled for the Edge TPU).

Example::

    result = probe_model("untrusted.tflite", timeout=30)
    if result.outcome != "ok":
        print(result.message)

The child is ``python -m edgeml.interpreter.probe``; the model's bytes reach it on stdin, so a
:class:`~edgeml.model.ModelFile` held only in memory is probed the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from edgeml.errors import InvalidArgumentError, one_line
from edgeml.model.file import ModelFile

__all__ = ["ProbeResult", "golden_input", "probe_model"]

Outcome = Literal["ok", "error", "signal", "timeout", "skipped"]
_ERROR_EXIT = 3  # the child's exit status for an EdgemlError
_CHILD = "edgeml.interpreter.probe"  # the module the child runs (tests swap in doubles that crash or hang)


@dataclass(frozen=True)
class ProbeResult:
    """What happened when the child ran the model.

    Attributes:
        outcome: ``"ok"``, ``"error"``, ``"signal"``, ``"timeout"`` or ``"skipped"``.
        message: One line: the error, the signal's name, or what ran.
        error_type: The EdgemlError class the child raised (``outcome == "error"``).
        signal: The signal's name (``outcome == "signal"``).
        seconds: Wall time of the child, start-up included.
        outputs: For ``ok``: each output's shape, dtype and whether every value is finite.
    """

    outcome: Outcome
    message: str
    seconds: float
    error_type: str | None = None
    signal: str | None = None
    outputs: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outputs": list(self.outputs)}


def golden_input(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """A deterministic input: a ramp over the dtype's range (integers) or over [-1, 1] (floats); booleans alternate.

    The same for every run, so a probe that passes once passes again.
    """
    n = int(np.prod(shape)) if shape else 1
    ramp = (np.arange(n, dtype=np.int64) * 37) % 251
    if np.issubdtype(dtype, np.bool_):
        values: np.ndarray = ramp % 2 == 1
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low, high = max(int(info.min), -128), min(int(info.max), 255)
        values = low + ramp % (high - low + 1)
    else:
        values = ramp / 125.0 - 1.0
    return values.astype(dtype).reshape(shape)


def probe_model(model: ModelFile | str | os.PathLike[str], timeout: float = 30.0,
                backend: str = "auto") -> ProbeResult:
    """Load, allocate and invoke ``model`` once in a child process (see the module docstring).

    Args:
        model: A :class:`ModelFile` or a path.
        timeout: Seconds before the child is killed (``outcome == "timeout"``).
        backend: Interpreter package for the child (:func:`edgeml.interpreter.load_backend`).

    Raises:
        InvalidArgumentError: ``timeout`` is not > 0.
        ModelNotFoundError, ModelFormatError: ``model`` is a path that is missing or not a TFLite file.
    """
    if not timeout > 0:
        raise InvalidArgumentError(f"timeout must be > 0 seconds. Received: {timeout!r}")
    file = model if isinstance(model, ModelFile) else ModelFile.open(model)
    if file.compiled_for_edgetpu:
        return ProbeResult("skipped", "compiled for the Edge TPU: the CPU cannot run it, so it was not probed", 0.0)
    env = {**os.environ, "PYTHONFAULTHANDLER": "0"}
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", _CHILD, file.name, backend],
                              input=file.data, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return ProbeResult("timeout", f"no answer within {timeout:g} s (killed)", time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    code = done.returncode
    if code < 0:
        name = _signal_name(-code)
        return ProbeResult("signal", f"the interpreter was killed by {name} while loading or running it",
                           seconds, signal=name)
    report = _last_json(done.stdout)
    if code == 0 and report is not None:
        return ProbeResult("ok", "loaded, allocated and ran once", seconds,
                           outputs=tuple(report.get("outputs", ())))
    if code == _ERROR_EXIT and report is not None:
        return ProbeResult("error", one_line(report.get("message", ""), 300), seconds,
                           error_type=str(report.get("type", "EdgemlError")))
    tail = one_line(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or "no output", 160)
    return ProbeResult("error", f"the child exited with status {code}: {tail}", seconds, error_type="exit")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_json(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def _child(name: str, backend: str) -> int:
    """The child: read the model from stdin, verify, load, allocate, invoke on golden inputs, report on stdout."""
    from edgeml.errors import EdgemlError
    from edgeml.interpreter.open import open_interpreter

    data = sys.stdin.buffer.read()
    try:
        file = ModelFile.from_bytes(data, name)
        interpreter, _ = open_interpreter(file, num_threads=1, backend=backend)
        for detail in interpreter.get_input_details():
            shape = tuple(int(d) for d in detail["shape"])
            interpreter.set_tensor(detail["index"], golden_input(shape, np.dtype(detail["dtype"])))
        try:
            interpreter.invoke()
        except RuntimeError as exc:
            from edgeml.errors import ModelFormatError

            raise ModelFormatError(f"{name!r} failed while running: {one_line(exc)}") from exc
        outputs = []
        for detail in interpreter.get_output_details():
            value = interpreter.get_tensor(detail["index"])
            finite = bool(np.isfinite(value).all()) if np.issubdtype(value.dtype, np.floating) else True
            outputs.append({"shape": list(value.shape), "dtype": str(value.dtype), "finite": finite})
    except EdgemlError as exc:
        print(json.dumps({"type": type(exc).__name__, "message": one_line(exc, 300)}), flush=True)
        return _ERROR_EXIT
    print(json.dumps({"outputs": outputs}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "auto"))
