"""edgetpu_compiler integration: the log parser on real published compiler output, and the runner's contract.

The compiler is an x86-64 Debian binary that cannot be installed here, so the runner is exercised with
``EdgetpuCompilerDouble``: a shell script that follows the real command line (``-s -o DIR -m N -n N MODEL...``),
writes the files the real compiler writes and replays a real compiler 16 log.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edgeml.errors import CompilerNotFoundError, ConversionError
from edgeml_converters.edgetpu.compiler import compile_models, find_compiler, output_names
from edgeml_converters.edgetpu.log import parse_compiler_log, parse_size

LOGS = Path(__file__).resolve().parents[2] / "data" / "edgetpu_logs"
DATA = LOGS.parent


def _log(name: str) -> str:
    """A stored real log without its '# source:' header."""
    return "\n".join(line for line in (LOGS / name).read_text().splitlines() if not line.startswith("# "))


def test_every_stored_log_names_its_public_source():
    for p in LOGS.iterdir():
        assert p.read_text().startswith("# source: https://"), p.name


def test_compiler16_stdout_fully_mapped_with_memory_and_table():
    log = parse_compiler_log(_log("compiler16_yolov7_pr1672.txt"))
    assert log.compiler_version == "16.0.384591198" and not log.failed
    (m,) = log.models
    assert m.output_model.endswith("best-int8_edgetpu.tflite") and m.log_file.endswith("best-int8_edgetpu.log")
    assert (m.subgraphs, m.total_ops, m.tpu_ops) == (1, 246, 246)  # no CPU count printed: everything mapped
    assert m.on_chip_used == parse_size("5.90MiB") == round(5.90 * 2**20)
    assert m.off_chip_used == round(41.75 * 1024) and m.on_chip_remaining == round(1.16 * 2**20)
    assert m.ops[0].op == "ADD" and m.ops[0].count == 3 and m.ops[0].mapped


def test_partial_mapping_counts_and_statuses():
    m = parse_compiler_log(_log("compiler21_partial_issue60.txt")).models[0]
    assert (m.total_ops, m.tpu_ops, m.cpu_ops_reported) == (93, 83, 10)
    assert [o.status for o in m.ops if o.op == "CONCATENATION"] == [
        "More than one subgraph is not supported", "Mapped to Edge TPU"]
    wrapped = parse_compiler_log(_log("compiler16_yolox_issue2.txt")).models[0]
    assert (wrapped.total_ops, wrapped.tpu_ops) == (143, 139)


def test_log_file_format_counts_mapped_ops_from_the_table():
    log = parse_compiler_log(_log("compiler14_tiny_yolo_edgetpu.log"))
    (m,) = log.models
    assert m.input_model == "tiny_yolo.tflite" and m.output_model == "tiny_yolo_edgetpu.tflite"
    assert m.tpu_ops == 6 + 11 + 2
    assert ("RESIZE_NEAREST_NEIGHBOR", "Operation version not supported") in [(o.op, o.status) for o in m.ops]


def test_segments_output_names_match_the_compilers():
    m = parse_compiler_log(_log("compiler16_segments_issue671.txt")).models[0]
    assert Path(m.output_model) == output_names("rede_modelo3_73.tflite", ".", 2)[0]


@pytest.mark.parametrize(("name", "op", "version"), [
    ("compiler16_conv2d_v6_issue631.txt", "CONV_2D", 6), ("compiler16_quantize_v3_issue879.txt", "QUANTIZE", 3)])
def test_rejected_op_versions_are_failures(name, op, version):
    log = parse_compiler_log(_log(name))
    assert log.failed and log.rejected_op_versions == [(op, version)]


def test_large_activation_failure():
    log = parse_compiler_log(_log("compiler16_large_activations_issue512.txt"))
    assert log.failed and any("large activation tensors" in e for e in log.errors)


DOUBLE = """#!/bin/sh
# EdgetpuCompilerDouble: TEST DOUBLE of Coral's edgetpu_compiler (x86-64 only; it cannot be installed here).
# Follows its command line, writes <out>/<stem>_edgetpu.tflite (+ .log) and replays a real compiler 16 log.
echo "$@" > "$ARGS_FILE"
out=.
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--out_dir) out="$2"; shift 2;;
    -m|-n|--min_runtime_version|--num_segments) shift 2;;
    -s|--show_operations) shift;;
    *) models="$models $1"; shift;;
  esac
done
if [ -n "$FAIL_WITH" ]; then cat "$FAIL_WITH"; exit 1; fi
cat "$REPLAY"
for m in $models; do
  stem=$(basename "$m" .tflite)
  cp "$m" "$out/${stem}_edgetpu.tflite"
  cat "$REPLAY" > "$out/${stem}_edgetpu.log"
done
"""


@pytest.fixture
def compiler_double(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "edgetpu_compiler"
    script.write_text(DOUBLE)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    replay = tmp_path / "replay.txt"
    replay.write_text(_log("compiler16_yolov7_pr1672.txt"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ARGS_FILE", str(tmp_path / "args.txt"))
    monkeypatch.setenv("REPLAY", str(replay))
    monkeypatch.delenv("EDGETPU_COMPILER", raising=False)
    return tmp_path


def test_runner_passes_flags_co_compiles_and_names_outputs(compiler_double, tmp_path):
    out = tmp_path / "out"
    models = [DATA / "tiny_int8.tflite", DATA / "upsample_int8.tflite"]
    result = compile_models(models, out, min_runtime=13)
    assert (tmp_path / "args.txt").read_text().split() == [
        "-s", "-o", str(out), "-m", "13", *map(str, models)]
    assert result.outputs == [out / "tiny_int8_edgetpu.tflite", out / "upsample_int8_edgetpu.tflite"]
    assert all(p.is_file() for p in result.outputs)
    assert result.log.models[0].tpu_ops == 246


def test_runner_failure_names_the_rejected_op_and_the_fix(compiler_double, monkeypatch):
    monkeypatch.setenv("FAIL_WITH", str(LOGS / "compiler16_conv2d_v6_issue631.txt"))
    with pytest.raises(ConversionError, match=r"CONV_2D v6: a grouped convolution.*groups=1"):
        compile_models([DATA / "grouped_conv_int8.tflite"], compiler_double / "out")


def test_missing_compiler_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("EDGETPU_COMPILER", raising=False)
    with pytest.raises(CompilerNotFoundError, match=r"apt-get install edgetpu-compiler.*x86-64|x86-64.*edgetpu-comp"):
        find_compiler()
    monkeypatch.setenv("EDGETPU_COMPILER", str(tmp_path / "nope"))
    with pytest.raises(CompilerNotFoundError, match="EDGETPU_COMPILER=.*not an executable.*coral-edgetpu-stable"):
        find_compiler()


def test_target_edgetpu_refuses_unmappable_models_before_compiling(compiler_double, tmp_path):
    from edgeml_converters.edgetpu.target import target_edgetpu

    with pytest.raises(ConversionError, match=r"Refusing.*leaves the TPU at op 0.*--allow-cpu-ops"):
        target_edgetpu(DATA / "tiny_float32.tflite", tmp_path / "out")
    with pytest.raises(ConversionError, match=r"cannot read.*CONV_2D version 6.*groups=1.*cannot help"):
        target_edgetpu(DATA / "grouped_conv_int8.tflite", tmp_path / "out", allow_cpu_ops=True)
    assert not (tmp_path / "args.txt").exists()  # the compiler never ran


def test_target_edgetpu_warns_with_allow_cpu_ops_and_compiles(compiler_double, tmp_path, caplog):
    from edgeml_converters.edgetpu.target import target_edgetpu

    result = target_edgetpu(DATA / "tiny_float32.tflite", tmp_path / "out", allow_cpu_ops=True, segments=None)
    assert result.outputs == [tmp_path / "out" / "tiny_float32_edgetpu.tflite"]
    assert "Compiling anyway (--allow-cpu-ops)" in caplog.text


def test_target_edgetpu_without_compiler_still_checks_and_says_how_to_install(monkeypatch, tmp_path, caplog):
    from edgeml_converters.edgetpu.target import target_edgetpu

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("EDGETPU_COMPILER", raising=False)
    result = target_edgetpu(DATA / "tiny_int8.tflite", tmp_path / "out")
    assert result.check.ready and result.compiled is None and result.outputs == []
    assert "apt-get install edgetpu-compiler" in result.notes[0] and "fully mapped" in result.notes[0]
