"""Doubles of the probe's child process (``edgeml.interpreter.probe``): one crashes, one hangs.

A model that passes the verifier and still crashes the interpreter is exactly what no test can keep (the verifier
is taught to refuse each one found), so these stand in for it to test how the parent classifies the outcome.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main() -> None:
    sys.stdin.buffer.read()
    if os.environ.get("EDGEML_TEST_PROBE") == "hang":
        time.sleep(600)
    os.kill(os.getpid(), signal.SIGSEGV)


if __name__ == "__main__":
    main()
