"""Progress bars of the host tools (edgeml_converters.progress) stay visible while TensorFlow's output is captured,
on a terminal only: piped or logged, stderr gets none of their ``\\r`` redraws."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.terminal import run_on_terminal

pytest.importorskip("tqdm", reason='progress bars need tqdm (pip install "edgeml[convert]")')

SCRIPT = """
import os, sys, time
from edgeml._native_log import quiet_output
from edgeml_converters import progress
import logging

enabled = sys.argv[1] == "on"
with quiet_output(logging.getLogger("edgeml_converters.example")):
    with progress.step("int8: converting", enabled=enabled):
        os.write(2, b"fully_quantize: 0, inference_type: 6\\n")   # the converter's C++ line
        for _ in progress.bar(range(3), "int8: calibrating", enabled=enabled, unit="img"):
            os.write(1, b"Saved artifact at '/tmp/x'\\n")
        time.sleep(1.5)                                          # one tick of the step's clock
    with progress.step("loading model.keras", enabled=enabled):
        pass                                                     # too short to be drawn
    bar = progress.counter("training head: epoch 1/2", 2, unit="batch", enabled=enabled)
    bar.update(2)
    bar.close()
"""


def run(state: str, *, terminal: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run the script with stderr on a pty (``terminal``), else piped like stdout."""
    cmd = [sys.executable, "-c", textwrap.dedent(SCRIPT), state]
    if terminal:
        return run_on_terminal(cmd, timeout=60)
    return subprocess.run(cmd, capture_output=True, timeout=60)


def test_steps_and_bars_draw_on_the_real_stderr_one_line_at_a_time():
    """Bars and steps show through the capture, never print a newline (an error after them stays one line)."""
    proc = run("on")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode()
    assert proc.stdout == b""
    assert "fully_quantize" not in err and "Saved artifact" not in err
    assert "int8: converting 0:01" in err  # the step's running time, drawn once it has taken a second
    assert "int8: converting 0:00" not in err and "loading model.keras" not in err
    assert "int8: calibrating" in err and "0/3" in err
    assert "training head: epoch 1/2" in err and "0/2 " in err
    assert "\n" not in err
    assert err.endswith("\r")  # every bar cleared its line when done


def test_disabled_progress_writes_nothing():
    proc = run("off")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == proc.stderr == b""


def test_bars_are_off_when_stderr_is_not_a_terminal():
    """Piped (a log file, journald), the same enabled bars and steps write nothing: no \\r redraws to keep."""
    proc = run("on", terminal=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == proc.stderr == b""
