"""One fuzz worker process: reads recipes (JSON lines) on stdin, runs each mutant through the entry points.

For every entry point it writes ``{"begin": ENTRY}`` before running it and ``{"entry": ..., "outcome": ...}`` after,
so when the process dies (a signal) or stops answering (a hang) the harness knows which entry point did it.

Outcomes: ``ran`` (loaded and ran / printed a report), ``edgeml`` (an :class:`~edgeml.EdgemlError`, or the CLI's
one-line error), ``exception`` (any other exception: a bug). The harness adds ``signal`` and ``hang``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.fuzz.mutators import Base, mutate

ENTRIES = ("classify", "inspect", "edgetpu")
MEMORY_LIMIT = 6 << 30  # a memory bomb fails here with MemoryError (an "exception") instead of paging the machine
_Y, _X = np.mgrid[0:96, 0:128]
_FRAME = np.dstack([_X * 2, _Y * 2, np.full_like(_X, 77)]).astype(np.uint8)  # a fixed RGB gradient, (96, 128, 3)


def _classify(path: str) -> tuple[str, str]:
    import edgeml

    try:
        with edgeml.Classifier(path) as clf:
            clf.classify(_FRAME)
    except edgeml.EdgemlError as exc:
        return "edgeml", str(exc)
    except Exception as exc:
        return "exception", f"{type(exc).__name__}: {exc}"
    return "ran", ""


def _cli(argv: list[str]) -> tuple[str, str]:
    from edgeml.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except Exception as exc:
        return "exception", f"{type(exc).__name__}: {exc}"
    lines = [line for line in err.getvalue().splitlines() if ": error: " in line or ": internal error: " in line]
    if any(": internal error: " in line for line in lines):
        return "exception", lines[-1]
    if lines:
        return "edgeml", lines[-1].split(": error: ", 1)[1]
    if code not in (0, 1) or not out.getvalue():
        return "exception", f"exit {code} with no report and no error line"
    return "ran", ""


def run_entry(entry: str, path: str) -> tuple[str, str]:
    """Run one entry point on the model at ``path``; return ``(outcome, message)``."""
    if entry == "classify":
        return _classify(path)
    if entry == "inspect":
        return _cli(["inspect", path])
    return _cli(["edgetpu", "check", path])


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    import logging

    logging.disable(logging.WARNING)  # warnings about damaged metadata are expected; the outcome is what counts
    bases: dict[str, Base] = {}
    folder = Path(tempfile.mkdtemp(prefix="edgeml-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    path = folder / "mutant.tflite"
    # The protocol gets its own copy of stdout; fd 1 goes to /dev/null so nothing native can write into it.
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for line in sys.stdin:
        job: dict[str, Any] = json.loads(line)
        base = bases.get(job["model"])
        if base is None:
            base = bases[job["model"]] = Base(job["name"], Path(job["model"]).read_bytes())
        try:
            path.write_bytes(mutate(base, job["kind"], job["seed"]))
        except Exception as exc:
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
            out.flush()
            continue
        for entry in job["entries"]:
            out.write(json.dumps({"begin": entry}) + "\n")
            out.flush()
            t = time.perf_counter()
            outcome, message = run_entry(entry, str(path))
            out.write(json.dumps({"entry": entry, "outcome": outcome, "message": message,
                                  "ms": round(1000 * (time.perf_counter() - t), 2)}) + "\n")
            out.flush()
        out.write(json.dumps({"done": True}) + "\n")
        out.flush()
    path.unlink(missing_ok=True)
    folder.rmdir()


if __name__ == "__main__":
    main()
