"""The offline Edge TPU check on real converted models (tests/data, built by build_edgetpu_models.py): op by op."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from edgeml.edgetpu.check import check_graph, check_model
from edgeml.model import read_graph
from tests.conftest import run_cli

DATA = Path(__file__).resolve().parents[2] / "data"


def test_int8_cnn_is_predicted_fully_mapped():
    report = check_model(DATA / "tiny_int8.tflite")
    assert report.ready and report.fraction == 1.0 and report.first_unsupported is None
    assert [op.op for op in report.ops][:3] == ["QUANTIZE", "CONV_2D", "DEPTHWISE_CONV_2D"]
    assert "fully mapped" in report.summary()


def test_grouped_conv_is_conv2d_v6_which_compiler_16_cannot_parse():
    report = check_model(DATA / "grouped_conv_int8.tflite")
    assert not report.ready and report.mapped == 0
    conv = next(op for op in report.ops if op.op == "CONV_2D")
    assert conv.version == 6 and conv.status == "cpu"
    assert "version 6 is newer" in conv.reasons[0]
    assert "groups=1" in conv.fixes[0] and "DepthwiseConv2D" in conv.fixes[0]
    assert all(op.status == "blocked" for op in report.ops if op is not conv)
    assert "cannot parse" in report.summary()


def test_upsampling_nearest_is_tile_v3_with_the_resizing_fix():
    report = check_model(DATA / "upsample_int8.tflite")
    tiles = [op for op in report.ops if op.op == "TILE"]
    assert tiles and all(op.version == 3 for op in tiles)
    assert "Resizing" in tiles[0].fixes[0] and "RESIZE_NEAREST_NEIGHBOR" in tiles[0].fixes[0]
    # Keras 3 also makes 5-D tensors around the TILE: the <= 3 non-unit innermost dims rule.
    reshape = report.ops[tiles[0].index - 1]
    assert reshape.op == "RESHAPE" and any("3 innermost" in r for r in reshape.reasons)


def test_float_model_leaves_the_tpu_at_the_first_op_because_of_float_tensors():
    report = check_model(DATA / "tiny_float32.tflite")
    assert report.mapped == 0 and report.first_unsupported == 0
    assert "float32" in report.ops[0].reasons[0] and "--quantize int8" in report.ops[0].fixes[0]


def test_dynamic_batch_is_reported_with_the_static_shape_fix():
    report = check_model(DATA / "dynamic_int8.tflite")
    assert not report.ready
    assert "dynamic shape" in report.ops[0].reasons[0] and "static (1, H, W, C)" in report.ops[0].fixes[0]


def _with_op(model, index, **changes):
    sg = model.main
    ops = list(sg.operators)
    ops[index] = replace(ops[index], **changes)
    return replace(model, subgraphs=(replace(sg, operators=tuple(ops)), *model.subgraphs[1:]))


def test_graph_leaves_the_tpu_at_the_first_unsupported_op_and_never_comes_back():
    """Ops after the first unsupported one run on the CPU even when supported (compiler 16 cuts once)."""
    model = read_graph(DATA / "tiny_int8.tflite")
    pool = next(op.index for op in model.main.operators if op.name == "MAX_POOL_2D")
    cut = _with_op(model, pool, options={**model.main.operators[pool].options, "fused_activation": "RELU"})
    report = check_graph(cut)
    assert report.first_unsupported == pool and report.mapped == pool
    assert "fused activation RELU" in report.ops[pool].reasons[0]
    assert {op.status for op in report.ops[pool + 1:]} == {"cpu_after_cut"}
    assert f"leaves the TPU at op {pool} MAX_POOL_2D" in report.summary()


@pytest.mark.parametrize(("change", "reason"), [
    ({"options": {"dilation_w": 2, "dilation_h": 1, "fused_activation": "RELU6"}}, "dilation differs"),
    ({"name": "HARD_SWISH", "builtin_code": 117}, "not an Edge TPU operation"),
    ({"name": "my-op", "builtin_code": 32, "custom_code": "my-op"}, "custom op"),
])
def test_per_op_rules(change, reason):
    model = read_graph(DATA / "tiny_int8.tflite")
    conv = next(op.index for op in model.main.operators if op.name == "CONV_2D")
    report = check_graph(_with_op(model, conv, **change))
    assert report.first_unsupported == conv
    assert any(reason in r for r in report.ops[conv].reasons) and report.ops[conv].fixes


def test_cli_check_explains_op_by_op_and_exits_1_when_not_mapped():
    bad = run_cli("edgetpu", "check", str(DATA / "grouped_conv_int8.tflite"))
    assert bad.returncode == 1
    assert "CONV_2D" in bad.stdout and "fix:" in bad.stdout and "groups=1" in bad.stdout
    good = run_cli("edgetpu", "check", "--json", str(DATA / "tiny_int8.tflite"))
    assert good.returncode == 0
    line = json.loads(good.stdout.splitlines()[0])
    assert line["ready"] and line["mapped"] == line["total"] == len(line["ops"])


def test_cli_inspect_shows_io_quantization_ops_and_verdict():
    out = run_cli("inspect", str(DATA / "tiny_int8.tflite"), check=True).stdout
    assert "input   uint8[1, 32, 32, 3]" in out and "scale=" in out
    assert "CONV_2D v3 x1" in out and "Edge TPU: ready" in out
    info = json.loads(run_cli("inspect", "--json", str(DATA / "grouped_conv_int8.tflite"), check=True).stdout)
    assert info["edgetpu"]["ready"] is False and info["ops"]["CONV_2D v6"] == 1


def test_cli_devices_lists_a_recorded_usb_accelerator(tmp_path):
    d = tmp_path / "sys" / "bus" / "usb" / "devices" / "2-1"
    d.mkdir(parents=True)
    (d / "idVendor").write_text("18d1\n")
    (d / "idProduct").write_text("9302\n")
    out = run_cli("edgetpu", "devices", "--root", str(tmp_path), check=True).stdout
    assert out.startswith("usb:0  usb  ready")
    none = run_cli("edgetpu", "devices", "--root", str(tmp_path / "empty"))
    assert none.returncode == 1 and "gasket-dkms" in none.stdout


def test_already_compiled_model_is_reported_as_such():
    report = check_model(DATA / "tiny_int8_edgetpu.tflite")
    assert [op.status for op in report.ops] == ["cpu", "tpu", "cpu"]
    assert "already compiled by edgetpu_compiler" in report.summary()
