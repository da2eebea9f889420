"""`edgeml convert` shows our progress and summary only: TensorFlow's text is captured, and shown with -v.

Three real conversions of the small Fashion-MNIST CNN (int8 with calibrated rounding and the agreement check, the
path that prints the most): piped, piped with -v, and with stderr on a terminal (the only place bars are drawn).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.terminal import run_on_terminal

pytestmark = pytest.mark.converter

# What TensorFlow, Keras and TFLite print during a conversion when nothing captures it.
CHATTER = ("TensorSpec(", "Saved artifact", "fully_quantize", "XNNPACK", "UserWarning", "absl", "Assets written")


def arguments(fashion, out) -> list[str]:
    return ["convert", str(fashion.model), "--output", str(out), "--calibration", str(fashion.calibration_dir),
            "--labels", str(fashion.labels), "--max-calibration-images", "100", "--quantize", "int8", "float32"]


def convert(fashion, out, *flags: str) -> subprocess.CompletedProcess[str]:
    """Run ``edgeml FLAGS convert ...`` piped; its output decoded as written (text mode turns each \\r into \\n)."""
    proc = subprocess.run([sys.executable, "-m", "edgeml", *flags, *arguments(fashion, out)], capture_output=True,
                          timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.fixture(scope="module")
def quiet_run(fashion, tmp_path_factory):
    out = tmp_path_factory.mktemp("quiet")
    return out, convert(fashion, out)


@pytest.fixture(scope="module")
def terminal_run(fashion, tmp_path_factory):
    out = tmp_path_factory.mktemp("terminal")
    proc = run_on_terminal([sys.executable, "-m", "edgeml", *arguments(fashion, out)])
    return out, proc.returncode, proc.stderr.decode()


@pytest.fixture(scope="module")
def verbose_run(fashion, tmp_path_factory):
    out = tmp_path_factory.mktemp("verbose")
    return out, convert(fashion, out, "-v")


def test_convert_prints_none_of_tensorflows_output(quiet_run):
    _, proc = quiet_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    for marker in CHATTER:
        assert marker not in proc.stdout + proc.stderr, marker


def test_convert_stdout_is_still_just_the_written_paths(quiet_run, verbose_run):
    for out, proc in (quiet_run, verbose_run):
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.splitlines() == [str(out / name) for name in
                                            ("fashion_cnn_int8.tflite", "fashion_cnn_float32.tflite", "labels.txt")]


STEPS = ("int8: calibrating", "int8: layer inputs", "int8: rounding layers", "int8: checking agreement")


def test_convert_on_a_terminal_shows_progress_then_a_summary_per_model(terminal_run):
    """Bars for the long steps, then per model: mode, file, size, input quantization and agreement."""
    out, returncode, stderr = terminal_run
    assert returncode == 0, stderr[-2000:]
    # Counted steps always draw; the timed ones (loading, converting) only once they take a second.
    for step in STEPS:
        assert step in stderr, step
    assert "\r" in stderr
    check_summary(out, [line.split("\r")[-1] for line in stderr.splitlines()])


def test_piped_convert_draws_no_bar_and_still_prints_the_summary(quiet_run):
    """stderr to a pipe or a log: none of the bars' \\r redraws, the same summary lines."""
    out, proc = quiet_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "\r" not in proc.stderr
    assert not [step for step in STEPS if step in proc.stderr]
    check_summary(out, proc.stderr.splitlines())


def check_summary(out, lines: list[str]) -> None:
    assert f"Wrote 2 models to {out}:" in lines
    int8 = next(line for line in lines if "fashion_cnn_int8.tflite" in line).split()
    assert int8[:2] == ["int8", "fashion_cnn_int8.tflite"] and int8[3] == "KiB"
    assert "uint8 input scale=1 zero_point=0, pixels copied in" in " ".join(int8)
    assert "top-1 agrees with float on" in " ".join(int8) and "of 100 held-out images" in " ".join(int8)
    float32 = next(line for line in lines if "fashion_cnn_float32.tflite" in line).split()
    assert float32[:2] == ["float32", "fashion_cnn_float32.tflite"] and "float32 input" in " ".join(float32)


def test_verbose_convert_logs_tensorflows_output_at_debug(verbose_run):
    _, proc = verbose_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "DEBUG edgeml_converters.tf: captured output:" in proc.stderr
    for marker in ("Saved artifact", "TensorSpec(", "fully_quantize"):
        assert marker in proc.stderr, marker
    assert "Wrote 2 models to" in proc.stderr  # the summary still comes last


def test_a_converter_failure_quotes_the_reason_tensorflow_printed():
    """The converter may raise a generic error and print the reason on fd 2: the one-line error quotes it."""
    from edgeml_converters.quantize.writer import explain_failure

    native = ("2026-01-01 W0000 some_file.cc:12] unrelated\n"
              "loc(\"model/custom\"): error: 'tf.Erfinv' op is neither a custom op nor a flex op\n")
    error = explain_failure("net", "int8", RuntimeError("Conversion failed."), native)
    assert "\n" not in str(error)
    assert "error: 'tf.Erfinv' op is neither a custom op nor a flex op" in str(error)
    assert "--quantize int8" in str(error)
    # The exception's own message wins when it names the error.
    own = explain_failure("net", "int8", RuntimeError("<unknown>:0: error: bad op\nmore"), native)
    assert "bad op" in str(own) and "Erfinv" not in str(own)
