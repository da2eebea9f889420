"""The model verifier (edgeml.model.verify): real models pass; each fault, made in a real model, is named."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from edgeml.errors import ModelFormatError
from edgeml.model import ModelFile
from edgeml.model.verify import check_layout, check_structure
from edgeml.model.verify._schema import UNIONS
from edgeml.model.verify.operators import _acyclic
from edgeml.model.verify.semantic import SemanticError
from tests.conftest import CACHE
from tests.flatbuffer_patch import element_position, patch, set_element, set_field, view

DATA = Path(__file__).resolve().parents[2] / "data"
TINY = (DATA / "tiny_int8.tflite").read_bytes()
UPSAMPLE = (DATA / "upsample_int8.tflite").read_bytes()
CACHED = [CACHE / "fashion" / "int8" / "fashion_cnn_int8.tflite", CACHE / "fashion" / "float32" /
          "fashion_cnn_float32.tflite", CACHE / "edgetpu" / "mobilenet_v2" / "mobilenet_v2_int8.tflite",
          CACHE / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"]


def refused(data: bytes, match: str, runtime: bool = True) -> str:
    """Assert the verifier refuses ``data`` with a one-line message matching ``match``; return the message."""
    with pytest.raises(ModelFormatError, match=match) as info:
        ModelFile.from_bytes(data, "m.tflite").verify(runtime=runtime)
    message = str(info.value)
    assert "\n" not in message and len(message) <= 400, message
    return message


@pytest.mark.parametrize("path", sorted(DATA.glob("*.tflite")) + CACHED, ids=lambda p: p.name)
def test_real_models_pass(path):
    if not path.is_file():
        pytest.skip(f"{path.name} is built by the converter tests (make test)")
    model = ModelFile.open(path)
    facts = model.verify()
    assert facts.subgraphs >= 1 and facts.operators == len(model.graph.main.operators)
    assert facts.tensors == sum(len(sg.tensors) for sg in model.graph.subgraphs)
    assert model.layout.end <= model.size  # the flatbuffer ends where an appended zip begins


def test_flatbuffer_end_is_where_the_metadata_zip_starts():
    from edgeml.model.metadata import embed, strip

    with_zip = embed(TINY, {"labels.txt": b"a\nb\nc\nd\n"})
    assert ModelFile.from_bytes(with_zip).layout.end == len(strip(with_zip)) == len(TINY)


# --- structure: FlatBuffers' Verifier rules ---------------------------------------------------------------------

def test_truncated_file():
    refused(TINY[:len(TINY) // 2], r"not a valid TFLite flatbuffer: .*outside the file")


def test_root_offset_past_the_end():
    refused(patch(TINY, 0, "<I", len(TINY) + 64), r"root table offset .* outside the file")


def test_misaligned_vector_offset():
    at = element_position(TINY, "Model", "operator_codes") - 4  # the vector's length field...
    pointer = next(p for p in range(0, 64, 4) if struct.unpack_from("<I", TINY, p)[0] + p == at)  # ...its uoffset
    refused(patch(TINY, pointer, "<I", at + 2 - pointer), r"operator_codes: .*misaligned")


def test_vector_length_past_the_end():
    at = element_position(TINY, "Operator", "inputs", row=1) - 4
    refused(patch(TINY, at, "<I", 0x10000000), r"operators\[1\]\.inputs: vector or string runs past the end")


def test_string_must_be_utf8():
    at = element_position(TINY, "Tensor", "name", row=3, size=1)
    refused(patch(TINY, at + 2, "B", 0xFF), r"tensors\[3\]\.name: string is not UTF-8")


def test_string_must_be_nul_terminated():
    start = element_position(TINY, "Tensor", "name", row=0, size=1)
    n = int(view(TINY, "Tensor").counts("name")[0])
    refused(patch(TINY, start + n, "B", ord("x")), r"not NUL-terminated")


# --- meaning --------------------------------------------------------------------------------------------------

def test_model_without_subgraphs():
    """The issue's SIGSEGV: a model with no subgraphs never reaches the interpreter."""
    at = element_position(TINY, "Model", "subgraphs") - 4
    refused(patch(TINY, at, "<I", 0), r"it has no subgraph")


def test_op_input_out_of_range():
    message = refused(set_element(TINY, "Operator", "inputs", "<i", 999, row=1),
                      r"subgraph 0 op 1 CONV_2D: input 0 is tensor 999 but the subgraph has 16 tensors")
    assert "copy it again, or convert it" in message  # and the fix


def test_op_output_out_of_range():
    refused(set_element(TINY, "Operator", "outputs", "<i", -7, row=2), r"op 2 DEPTHWISE_CONV_2D: output 0 is "
            r"tensor -7")


def test_missing_input_only_where_optional():
    refused(set_element(TINY, "Operator", "inputs", "<i", -1, row=3, index=1),
            r"op 3 ADD: input 1 is -1 \(none\), but ADD has no optional input 1")


def test_op_code_index_out_of_range():
    refused(set_field(TINY, "Operator", "opcode_index", "<I", 99, row=1), r"op code index 99 but the model has 8")


def test_tensor_buffer_out_of_range():
    refused(set_field(TINY, "Tensor", "buffer", "<I", 1000, row=6), r"tensor 6 .*names buffer 1000 but the model "
            r"has 19 buffers")


def test_constant_data_must_match_the_shape():
    refused(set_element(TINY, "Tensor", "shape", "<i", 9, row=6),
            r"tensor 6 .*constant data is 216 bytes but shape \[9, 3, 3, 3\] of int8 needs 243")


def test_negative_dimension():
    refused(set_element(TINY, "Tensor", "shape", "<i", -5, row=7, index=1), r"tensor 7 .*negative dimension")


def test_dimensions_past_int32():
    data = set_element(TINY, "Tensor", "shape", "<i", 65536, row=9, index=1)
    refused(set_element(data, "Tensor", "shape", "<i", 65536, row=9, index=2), r"more than 2\*\*31 elements")


def test_activation_memory_is_capped():
    layout = check_structure(TINY)
    with pytest.raises(ModelFormatError, match=r"tensors need .* more than the 0 MiB limit"):
        check_layout(layout, "m", max_tensor_bytes=1000)


@pytest.mark.parametrize("value", [float("nan"), 0.0, -0.5, float("inf"), 1e-40], ids=str)
def test_scales_must_be_finite_and_positive(value):
    refused(set_element(TINY, "QuantizationParameters", "scale", "<f", value, row=2),
            r"tensor 2 .*quantization scale .* is not a finite number > 0")


def test_zero_point_in_the_type_range():
    refused(set_element(TINY, "QuantizationParameters", "zero_point", "<q", 200, row=7),
            r"tensor 7 .*zero point 200 is outside int8's range -128..127")


def test_quantized_dimension_must_exist():
    refused(set_field(TINY, "QuantizationParameters", "quantized_dimension", "<i", 7, row=3),
            r"tensor 3 .*quantized dimension 7 is not a dimension")


def test_per_channel_scales_match_the_channels():
    refused(set_field(TINY, "QuantizationParameters", "quantized_dimension", "<i", 1, row=3),
            r"has 8 scales but dimension 1 has 3 channels")


def test_input_read_before_it_is_written():
    refused(set_element(TINY, "Operator", "inputs", "<i", 10, row=1), r"op 1 CONV_2D: reads tensor 10, which a "
            r"later op writes")


def test_output_written_twice():
    refused(set_element(TINY, "Operator", "outputs", "<i", 8, row=2), r"op 2 DEPTHWISE_CONV_2D: writes tensor 8, "
            r"which an earlier op already wrote")


def test_output_onto_a_constant():
    refused(set_element(TINY, "Operator", "outputs", "<i", 6, row=2), r"writes tensor 6, which is a constant")


def test_subgraph_output_written_by_no_op():
    at = element_position(TINY, "SubGraph", "operators") - 4
    refused(patch(TINY, at, "<I", 0), r"output tensor 15 is written by no op")


def test_stride_zero_is_refused():
    refused(set_field(TINY, "Conv2DOptions", "stride_w", "<i", 0), r"op 1 CONV_2D: option stride_w = 0")


def test_options_of_the_wrong_type():
    data = set_field(TINY, "Operator", "builtin_options_type", "B", UNIONS["BuiltinOptions"].index("AddOptions"),
                     row=1)
    refused(data, r"op 1 CONV_2D: its options are AddOptions; the kernel needs Conv2DOptions")


def test_quantized_op_on_an_unquantized_tensor():
    """The issue's SIGABRT family: int8 ADD whose output lost its quantization (QuantizeMultiplier aborts)."""
    refused(set_field(TINY, "Tensor", "type", "b", 0, row=10), r"op 3 ADD: input 0 is int8 but its output is "
            r"float32|ADD: output 0 .* without quantization")


def test_add_output_scale_too_small():
    refused(set_element(TINY, "QuantizationParameters", "scale", "<f", 1e-12, row=10),
            r"op 3 ADD: output scale .* is too small")


def test_reshape_new_shape_rank_must_match_the_output():
    """tensorflow#124982: a RESHAPE whose new shape has another rank than its output overflows the heap."""
    refused(set_element(UPSAMPLE, "Operator", "inputs", "<i", 5, row=2, index=1),
            r"op 2 RESHAPE: its new shape has 4 dimensions but its output tensor has 5")


def test_unknown_op_version_is_a_runtime_problem_only():
    data = set_field(TINY, "OperatorCode", "version", "<i", 99, row=1)
    refused(data, r"cannot run on this interpreter: op code 1: CONV_2D version 99 .*versions 1\.\.8.*Upgrade")
    model = ModelFile.from_bytes(data)
    assert model.verify(runtime=False).operators == 9  # inspect and edgetpu check still read it
    from edgeml.describe import describe

    assert describe(model)["verification"]["runs_here"] is False


def test_unknown_tensor_type():
    refused(set_field(TINY, "Tensor", "type", "b", 99, row=8), r"tensor 8 .*unknown tensor type 99")


def test_schema_version():
    refused(set_field(TINY, "Model", "version", "<I", 2), r"schema version 2")


def test_recursion_through_control_flow_is_refused():
    _acyclic({0: {1}, 1: {2}})
    with pytest.raises(SemanticError, match="calls itself"):
        _acyclic({0: {1}, 1: {2}, 2: {1}})


def test_the_verifier_never_lets_an_index_error_through():
    """Every fault path is a ModelFormatError: a sweep of single-byte changes over the whole tiny model."""
    outcomes = set()
    for at in range(0, len(TINY), 7):
        data = patch(TINY, at, "B", (TINY[at] + 97) % 256)
        try:
            ModelFile.from_bytes(data).verify()
            outcomes.add("ok")
        except ModelFormatError as exc:
            assert "\n" not in str(exc) and len(str(exc)) <= 400
            outcomes.add("refused")
    assert outcomes == {"ok", "refused"}


def test_schema_tables_match_the_generated_python_schema():
    """_schema.py (from schema.fbs) gives every field the slot LiteRT's own generated code writes it to."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("ai_edge_litert.schema_py_generated")
    if spec is None or spec.origin is None:
        pytest.skip("needs ai_edge_litert's schema_py_generated.py")
    text = Path(spec.origin).read_text()
    slots = {m[1]: int(m[2]) for m in re.finditer(
        r"def (\w+)\(builder, \w+\):\s*\n\s*builder\.Prepend\w+Slot\((\d+),", text)}
    from edgeml.model.verify._schema import TABLES

    checked = 0
    for table, fields in TABLES.items():
        for name, slot, _, _ in fields:
            if name.endswith("_type"):
                continue
            camel = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
            if f"{table}Add{camel}" in slots:
                assert slots[f"{table}Add{camel}"] == slot, (table, name)
                checked += 1
    assert checked > 250, checked  # the tables of every model field edgeml reads, and most options


def test_verifying_twice_costs_nothing():
    model = ModelFile.from_bytes(TINY)
    assert model.verify() is model.verify()
    assert isinstance(model.layout.u8, np.ndarray)
