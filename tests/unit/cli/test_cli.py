"""CLI contract without models: usage errors exit 2, failures exit 1 with one line, no traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import run_cli


def test_help_lists_subcommands():
    out = run_cli("--help", check=True).stdout
    assert "classify" in out and "convert" in out and "train" in out


def test_usage_error_exits_2():
    assert run_cli("classify").returncode == 2


def test_missing_model_is_one_line_exit_1(tmp_path):
    proc = run_cli("classify", "--model", str(tmp_path / "nope.tflite"), "x.jpg")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "Model file not found" in proc.stderr


def test_convert_without_tensorflow_prints_pip_hint(tmp_path):
    # Run the CLI in a process where `import tensorflow` fails, as on a Raspberry Pi. The arguments are valid
    # (they are checked first: see test_convert_config.py), so what stops it is the missing TensorFlow.
    code = ("import sys; sys.modules['tensorflow'] = None; from edgeml.cli import main; "
            f"sys.exit(main(['convert', 'm.keras', '--output', {str(tmp_path)!r}, '--quantize', 'float32']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert 'pip install "edgeml[convert]"' in proc.stderr and "Traceback" not in proc.stderr


def test_train_without_tensorflow_prints_pip_hint(tmp_path):
    code = ("import sys; sys.modules['tensorflow'] = None; from edgeml.cli import main; "
            f"sys.exit(main(['train', {str(tmp_path)!r}, '--output', {str(tmp_path / 'out')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert 'pip install "edgeml[convert]"' in proc.stderr and "edgeml train" in proc.stderr


def test_the_cli_starts_without_the_host_converters_and_says_what_convert_needs():
    """A source checkout on PYTHONPATH (or a device image) may have edgeml without edgeml_converters: every
    runtime command still works, and convert / train fail in one line naming the install."""
    import subprocess
    import sys

    hide = ("import sys; sys.modules['edgeml_converters'] = None; from edgeml.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    boards = subprocess.run([sys.executable, "-c", hide, "boards", "list"], capture_output=True, text=True, timeout=120)
    assert boards.returncode == 0 and "rpi-5" in boards.stdout, boards.stderr
    for command in ("convert", "train"):
        proc = subprocess.run([sys.executable, "-c", hide, command, "m.keras", "-o", "out"], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"edgeml {command} needs the host converters" in proc.stderr and "edgeml[convert]" in proc.stderr
        assert proc.stderr.count("\n") == 1
