"""Descriptor-level capture (edgeml._native_log): what native code writes to fd 1 and 2 stays off the terminal.

Each case runs in a subprocess, as the CLI does, so the real descriptors 1 and 2 are the ones captured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import json, logging, os, sys, warnings
from edgeml._native_log import TFLITE_NOISE, filtered_stderr, quiet_output, terminal

ours = logging.getLogger("edgeml_converters.example")
def noise(tag):
    os.write(1, f"C fd1 {tag}\\n".encode())        # C++ printf
    os.write(2, f"C fd2 {tag}\\n".encode())        # C++ logging
    print(f"python print {tag}")                    # Keras's export listing
    warnings.warn(f"python warning {tag}")          # the converter's UserWarning
    logging.getLogger("tensorflow").warning(f"tensorflow logger {tag}")
"""


def run(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run PRELUDE + ``body`` in a new interpreter; stdout and stderr decoded as written (``\\r`` kept)."""
    code = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.mark.parametrize("configured", [True, False], ids=["logging-configured", "logging-not-configured"])
def test_quiet_output_captures_fd1_fd2_print_warnings_and_foreign_loggers(configured):
    """Nothing of the noise reaches stdout or stderr; all of it is in the captured text, in writing order."""
    proc = run(f"""
        if {configured}:
            logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
        with quiet_output(ours) as captured:
            noise("inside")
            text = captured.text()
        print(json.dumps(text))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = json.loads(proc.stdout)
    expected = ["C fd1 inside", "C fd2 inside", "python print inside", "python warning inside"]
    if configured:
        expected.append("tensorflow logger inside")  # with no handler configured, tensorflow's own goes to fd 2
    positions = [text.find(e) for e in expected]
    assert -1 not in positions, text
    assert positions == sorted(positions), text


def test_our_log_records_and_progress_reach_the_terminal_while_captured():
    """edgeml's records go to the handler's real stream and a bar written to terminal() shows; noise does not."""
    proc = run("""
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
        with quiet_output(ours):
            noise("inside")
            terminal().write("\\rbar 50%")
            ours.warning("our warning")
            ours.info("our info")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "inside" not in proc.stderr
    # A log record never continues the bar's line: it starts on a line of its own.
    assert proc.stderr == "\rbar 50%\nWARNING our warning\nINFO our info\n"


def test_our_warnings_show_even_without_logging_configured():
    """The handler of last resort would look up the captured sys.stderr: our warnings still reach the terminal."""
    proc = run("""
        with quiet_output(ours):
            ours.warning("agreement is low")
            logging.getLogger("absl").warning("absl noise")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "agreement is low\n"


def test_captured_text_is_logged_at_debug_only():
    """With DEBUG on (edgeml -v) the captured text is logged through our logger; at INFO it is not shown."""
    body = """
        logging.basicConfig(level=logging.DEBUG if sys.argv[1] == "-v" else logging.INFO,
                            format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        with quiet_output(ours):
            noise("inside")
    """
    quiet, verbose = run(body, "-q"), run(body, "-v")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert quiet.stdout == quiet.stderr == "" and verbose.stdout == ""
    assert verbose.stderr.startswith("DEBUG edgeml_converters.example: captured output:\n")
    for line in ("C fd1 inside", "C fd2 inside", "python print inside", "python warning inside",
                 "WARNING tensorflow: tensorflow logger inside"):
        assert line in verbose.stderr


def test_nested_blocks_share_one_capture_and_see_their_own_text():
    """An inner block's text starts where the inner block began; the descriptors come back after the outer one."""
    proc = run("""
        with quiet_output(ours) as outer:
            noise("before")
            with quiet_output(ours) as inner:
                noise("inner")
                inner_text = inner.text()
            os.write(2, b"still captured\\n")
            outer_text = outer.text()
        noise("after")
        print(json.dumps([inner_text, outer_text]))
    """)
    assert proc.returncode == 0, proc.stderr
    *visible, last = proc.stdout.splitlines()
    inner_text, outer_text = json.loads(last)
    assert "inner" in inner_text and "before" not in inner_text
    assert "before" in outer_text and "inner" in outer_text and "still captured" in outer_text
    # After the outer block everything is back where it was: stdout and stderr show the noise again.
    assert visible == ["C fd1 after", "python print after"]
    assert "C fd2 after" in proc.stderr and "python warning after" in proc.stderr
    assert "tensorflow logger after" in proc.stderr and "still captured" not in proc.stderr


def test_handlers_and_descriptors_are_restored_after_an_exception():
    proc = run("""
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
        handler = logging.getLogger().handlers[0]
        before = (handler.stream, list(handler.filters), logging.lastResort)
        try:
            with quiet_output(ours):
                noise("inside")
                raise ValueError("converter failed")
        except ValueError:
            pass
        assert (handler.stream, list(handler.filters), logging.lastResort) == before
        logging.getLogger("tensorflow").warning("visible again")
        os.write(1, b"fd1 visible again\\n")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "fd1 visible again\n"
    assert proc.stderr == "visible again\n"


def test_filtered_stderr_drops_known_noise_and_keeps_the_rest():
    """The runtime's filter (around interpreter start) still works, also inside a quiet_output block."""
    proc = run("""
        with filtered_stderr(TFLITE_NOISE):
            os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\nreal problem\\n")
        with quiet_output(ours) as captured:
            with filtered_stderr(TFLITE_NOISE):
                os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\ninner problem\\n")
            text = captured.text()
        print(json.dumps(text))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "real problem\n"
    assert json.loads(proc.stdout) == "inner problem\n"
