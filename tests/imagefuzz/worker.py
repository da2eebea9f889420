"""The fuzzer's child process: reads one request per line on stdin, answers one JSON line per request on stdout.

A request names a mutant file and the entry points to try it on; the answer gives each entry's outcome:
``classified``, ``edgeml_error`` (with the error's type and whether its message is one line of at most
:data:`MAX_MESSAGE` characters) or ``other`` (any other exception: a bug). A signal or a hang never answers: the
parent sees the process die or time out, and counts it.

Entry points:

- ``classify``: ``Classifier.classify(path)``;
- ``stream``: an ``images:`` stream over a folder of [a good photo, the mutant, a good photo]: the mutant must be
  classified or reported as that item's error, and both photos classified (the stream goes on);
- ``cli``: ``edgeml classify --model M FILE`` (its ``main()``, in this process): exit 0 with a JSON line, or exit 1
  with one error line on stderr.

Two more entries check the harness itself: ``selftest-signal`` kills the worker with SIGSEGV and
``selftest-hang`` never answers; the parent must count them as a signal and a hang.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["MAX_MESSAGE", "main"]

MAX_MESSAGE = 500


def _message(exc: BaseException) -> dict[str, Any]:
    text = str(exc)
    return {"type": type(exc).__name__, "message": text[:300], "one_line": "\n" not in text,
            "length": len(text)}


def _classify(clf: Any, path: Path) -> dict[str, Any]:
    from edgeml.errors import EdgemlError

    try:
        clf.classify(str(path), top_k=1)
    except EdgemlError as exc:
        return {"outcome": "edgeml_error", **_message(exc)}
    except Exception as exc:  # a bug: anything a file can cause must be an EdgemlError
        return {"outcome": "other", **_message(exc)}
    return {"outcome": "classified"}


def _stream(clf: Any, path: Path, folder: Path) -> dict[str, Any]:
    from edgeml.streaming import Stream

    for old in folder.glob("1_mutant*"):
        old.unlink()
    shutil.copyfile(path, folder / f"1_mutant{path.suffix}")
    stream = Stream(f"images:{folder}", clf, top_k=1)
    try:
        results = list(stream)
    except Exception as exc:  # the stream itself died: a bad file must only ever be that item's error
        return {"outcome": "other", **_message(exc)}
    errors = [r.error for r in results if r.error]
    healthy = (len(results) == 3 and not results[0].error and not results[2].error
               and stream.stats.read_failures == 0)
    if not healthy:
        return {"outcome": "other", "type": "StreamBroken", "message": f"{len(results)} results, errors {errors}, "
                f"read failures {stream.stats.read_failures}"[:300], "one_line": True, "length": 0}
    if errors:
        text = errors[0]
        return {"outcome": "edgeml_error", "type": "ImageError", "message": text[:300], "one_line": "\n" not in text,
                "length": len(text)}
    return {"outcome": "classified"}


def _cli(model: str, path: Path) -> dict[str, Any]:
    from edgeml.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["classify", "--model", model, "--board", "none", "--json", str(path)])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    if code == 0 and len(out.getvalue().splitlines()) == 1:
        return {"outcome": "classified"}
    if code == 1 and len(errors) == 1 and "internal error" not in errors[0] and "Traceback" not in err.getvalue():
        return {"outcome": "edgeml_error", "type": "cli", "message": errors[0][:300], "one_line": True,
                "length": len(errors[0])}
    return {"outcome": "other", "type": f"exit {code}", "message": " | ".join(lines)[:300], "one_line": len(lines) < 2,
            "length": len(err.getvalue())}


def main(argv: list[str]) -> int:
    """``python -m tests.imagefuzz.worker MODEL FOLDER``: FOLDER holds the stream's two good photos."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)  # the CLI's basicConfig becomes a no-op
    logging.getLogger("edgeml").setLevel(logging.ERROR)  # "said once" notes and reconnect warnings: not results
    from edgeml import Classifier

    model, folder = argv[0], Path(argv[1])
    clf = Classifier(model, num_threads=1)
    protocol = sys.stdout
    print(json.dumps({"ready": True}), file=protocol, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        path = Path(request["path"])
        answer: dict[str, Any] = {"id": request["id"]}
        for entry in request["entries"]:
            if entry == "selftest-signal":
                os.kill(os.getpid(), signal.SIGSEGV)
            elif entry == "selftest-hang":
                time.sleep(3600)
            if entry == "classify":
                answer[entry] = _classify(clf, path)
            elif entry == "stream":
                answer[entry] = _stream(clf, path, folder)
            else:
                answer[entry] = _cli(model, path)
        print(json.dumps(answer), file=protocol, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
