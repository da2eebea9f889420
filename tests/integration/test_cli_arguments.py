"""Argument abuse: every bad value a user can type is one line on stderr, exit 2, no traceback, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

MODEL = str(Path(__file__).resolve().parents[1] / "data" / "tiny_int8.tflite")
STREAM = ("classify", "-m", MODEL, "--source", "synthetic", "--max-frames", "1")

# (arguments, what the one error line must say)
USAGE_ERRORS = [
    ((*STREAM, "--threads", "0"), "--threads: must be >= 1"),
    ((*STREAM, "--threads", "-1"), "--threads: must be >= 1"),
    ((*STREAM, "--threads", "two"), "--threads: expected an integer"),
    ((*STREAM, "--top-k", "0"), "--top-k: must be >= 1"),
    ((*STREAM, "--top-k", "-3"), "--top-k: must be >= 1"),
    ((*STREAM, "--threshold", "2"), "--threshold: must be a probability between 0 and 1"),
    ((*STREAM, "--threshold", "-0.1"), "--threshold: must be a probability"),
    ((*STREAM, "--threshold", "nan"), "--threshold: expected a finite number"),
    ((*STREAM, "--fps", "0"), "--fps: must be > 0"),
    ((*STREAM, "--fps", "-5"), "--fps: must be > 0"),
    ((*STREAM, "--fps", "inf"), "--fps: expected a finite number"),
    (("classify", "-m", MODEL, "--source", "synthetic", "--max-frames", "0"), "--max-frames: must be >= 1"),
    ((*STREAM, "--device", "tpu"), "--device: expected one of cpu, auto, usb, usb:N, pci, pci:N"),
    ((*STREAM, "--device", "usb:x"), "--device: expected one of"),
    ((*STREAM, "--fallback", "gpu"), "--fallback: invalid choice"),
    ((*STREAM, "--board", "rpi-9"), "--board: unknown board 'rpi-9'"),
    ((*STREAM, "--camera-format", "RGB"), "--camera-format: invalid choice"),
    (("classify", "-m", MODEL), "give either IMAGE files or --source"),
    (("classify", "-m", MODEL, "--source", "synthetic", "x.png"), "give either IMAGE files or --source"),
    (("classify", "-m", MODEL, "--loop", "x.png"), "--loop applies to --source streams only"),
    ((*STREAM, "--source-timeout", "-1"), "--source-timeout: must be >= 0"),
    ((*STREAM, "--source-timeout", "nan"), "--source-timeout: expected a finite number"),
    ((*STREAM, "--invoke-timeout", "soon"), "--invoke-timeout: expected a number"),
    ((*STREAM, "--invoke-timeout", "-0.5"), "--invoke-timeout: must be >= 0"),
    (("classify", "-m", MODEL, "--invoke-timeout", "3", "x.png"), "--invoke-timeout applies to --source streams"),
    (("classify", "-m", MODEL, "--max-megapixels", "0", "x.png"), "--max-megapixels: must be > 0"),
    (("classify", "-m", MODEL, "--max-megapixels", "-40", "x.png"), "--max-megapixels: must be > 0"),
    (("classify", "-m", MODEL, "--max-megapixels", "inf", "x.png"), "--max-megapixels: expected a finite number"),
    (("bench", MODEL, "--iterations", "0"), "--iterations: must be >= 1"),
    (("bench", MODEL, "--rounds", "-1"), "--rounds: must be >= 1"),
    (("bench", MODEL, "--frame", "640by480"), "WIDTHxHEIGHT"),
    (("bench", MODEL, "--threads", "0"), "--threads: must be >= 1"),
    (("service", "install", "-m", MODEL, "--user", "nobody", "--print", "--watchdog", "0"), "--watchdog: must be"),
    (("service", "install", "-m", MODEL, "--user", "nobody", "--print", "--threads", "0"), "--threads: must be"),
    (("boards", "show"), "the following arguments are required: name"),
    (("edgetpu", "check"), "the following arguments are required: MODEL"),
    (("classify",), "the following arguments are required: --model"),
]


@pytest.mark.parametrize(("args", "says"), USAGE_ERRORS, ids=[" ".join(a[3:] if a[0] == "classify" and len(a) > 3
                                                                          else a) for a, _ in USAGE_ERRORS])
def test_bad_argument_is_one_usage_line_and_exit_2(args, says):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert says in proc.stderr


@pytest.mark.parametrize(("args", "says"), [
    (("inspect", "missing.tflite"), "Model file not found"),
    (("edgetpu", "check", "missing.tflite"), "Model file not found"),
    (("classify", "-m", "missing.tflite", "x.png"), "Model file not found"),
    (("boards", "show", "rpi-9"), "Unknown board 'rpi-9'"),
    (("classify", "-m", MODEL, "--source", "rtsp://cam"), "Unknown source 'rtsp://cam'"),  # a source fails at run
    (("classify", "-m", MODEL, "--source", "synthetic:0x0"), "Bad frame size '0x0'"),
])
def test_a_failure_is_one_line_and_exit_1(args, says):
    proc = run_cli(*args)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "error:" in proc.stderr and says in proc.stderr
