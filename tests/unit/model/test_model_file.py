"""A model file (edgeml.model): read once and shared (the interpreter, the metadata and the Edge TPU check use the
same bytes), and its flatbuffer graph reader agrees with TFLite's generated schema code on real converted models
and fails cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeml import Classifier, ModelFile, ModelFormatError, ModelNotFoundError
from edgeml.describe import describe
from edgeml.edgetpu.check import check_model
from edgeml.model import parse_graph, read_graph
from edgeml.model.schema import BUILTIN_OPERATORS, TENSOR_TYPES

DATA = Path(__file__).resolve().parents[2] / "data"
MODEL = DATA / "tiny_int8.tflite"
MODELS = sorted(DATA.glob("*.tflite"))


def test_a_classifier_opens_its_model_file_exactly_once():
    code = f"""
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" and str(args[0]) == {str(MODEL)!r}
                 else None)
import edgeml
clf = edgeml.Classifier({str(MODEL)!r})
clf.classify(__import__("numpy").zeros((40, 30, 3), "uint8"))
print(len(opened), clf.metadata is clf.model.metadata, "edgeml.edgetpu.delegate" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "True", "False"]  # one read; metadata from the same object; no Edge TPU code for the CPU


def test_one_model_file_serves_classifier_check_and_describe():
    model = ModelFile.open(MODEL)
    clf = Classifier(model)
    assert clf.model is model and clf.model_path == MODEL
    assert check_model(model).total == len(model.graph.main.operators)
    report = describe(model)
    assert report["size_bytes"] == model.size == MODEL.stat().st_size
    assert report["op_count"] == len(model.graph.main.operators)
    assert not model.compiled_for_edgetpu and ModelFile.open(DATA / "tiny_int8_edgetpu.tflite").compiled_for_edgetpu


def test_bytes_already_in_memory_make_a_model_file_too():
    model = ModelFile.from_bytes(MODEL.read_bytes(), "from-memory.tflite")
    assert Classifier(model).num_classes == Classifier(MODEL).num_classes
    with pytest.raises(ModelFormatError, match="not a TFLite model"):
        ModelFile.from_bytes(b"PK\x03\x04not a model", "model.keras")


def test_missing_and_wrong_files_say_what_they_are(tmp_path):
    with pytest.raises(ModelNotFoundError, match="Model file not found"):
        ModelFile.open(tmp_path / "missing.tflite")
    keras = tmp_path / "model.keras"
    keras.write_bytes(b"PK\x03\x04" + b"\0" * 20)
    with pytest.raises(ModelFormatError, match="looks like a Keras model"):
        ModelFile.open(keras)
    with pytest.raises(ModelNotFoundError):
        ModelFile.open(tmp_path)  # a folder is not a model file


# -- the flatbuffer graph reader -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema():
    return pytest.importorskip("ai_edge_litert.schema_py_generated")


def test_enum_tables_match_the_published_schema(schema):
    ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    assert BUILTIN_OPERATORS[: len(ops)] == tuple(ops[i] for i in range(len(ops)))
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    assert TENSOR_TYPES[: len(types)] == tuple(types[i].lower() for i in range(len(types)))


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_reader_matches_schema_py_generated(path, schema):
    """Every op (code, version, inputs, outputs) and tensor (shape, signature, dtype, buffer, quantization)."""
    data = path.read_bytes()
    ours = parse_graph(data)
    ref = schema.Model.GetRootAs(data, 0)
    assert ours.schema_version == ref.Version()
    sg, rsg = ours.main, ref.Subgraphs(0)
    assert len(sg.operators) == rsg.OperatorsLength() > 0
    for op in sg.operators:
        rop = rsg.Operators(op.index)
        code = ref.OperatorCodes(rop.OpcodeIndex())
        assert op.builtin_code == max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        assert op.version == code.Version()
        assert list(op.inputs) == list(rop.InputsAsNumpy()) and list(op.outputs) == list(rop.OutputsAsNumpy())
    for t in sg.tensors:
        rt = rsg.Tensors(t.index)
        assert t.name == rt.Name().decode()
        assert list(t.shape) == list(rt.ShapeAsNumpy()) if rt.ShapeLength() else t.shape == ()
        if rt.ShapeSignatureLength():
            assert list(t.shape_signature) == list(rt.ShapeSignatureAsNumpy())
        assert t.dtype == TENSOR_TYPES[rt.Type()] and t.buffer == rt.Buffer()
        assert t.is_constant == (ref.Buffers(rt.Buffer()).DataLength() > 0)
        q = rt.Quantization()
        if q is not None and q.ScaleLength():
            assert np.allclose(t.quantization.scale, q.ScaleAsNumpy())
            assert list(t.quantization.zero_point) == list(q.ZeroPointAsNumpy())
        else:
            assert t.quantization is None
    names = {ref.Metadata(i).Name().decode() for i in range(ref.MetadataLength())}
    assert set(ours.metadata_entries) == names


def test_options_constants_and_metadata_of_a_real_model():
    model = read_graph(DATA / "tiny_int8.tflite")
    ops = {op.name: op for op in model.main.operators}
    assert ops["CONV_2D"].options["fused_activation"] == "RELU6"
    assert ops["MAX_POOL_2D"].options["filter_w"] == 2
    axes = model.constant(model.main.tensors[ops["MEAN"].inputs[1]])
    assert axes.tolist() == [1, 2]  # global average pooling over H and W
    assert model.metadata_entries["min_runtime_version"].startswith(b"1.")
    assert model.main.tensors[model.main.inputs[0]].dtype == "uint8"


def test_dynamic_batch_shows_in_shape_signature():
    model = read_graph(DATA / "dynamic_int8.tflite")
    t = model.main.tensors[model.main.inputs[0]]
    assert t.shape_signature[0] == -1 and t.is_dynamic
    assert not read_graph(DATA / "tiny_int8.tflite").main.tensors[0].is_dynamic


def test_appended_zip_is_ignored(tmp_path):
    from edgeml.model import metadata

    p = tmp_path / "with_labels.tflite"
    p.write_bytes(metadata.embed((DATA / "tiny_int8.tflite").read_bytes(), {"labels.txt": b"a\nb\nc\nd\n"}))
    assert len(read_graph(p).main.operators) == len(read_graph(DATA / "tiny_int8.tflite").main.operators)


def test_truncated_corrupt_and_missing_files_raise_with_the_fix(tmp_path):
    data = (DATA / "tiny_int8.tflite").read_bytes()
    with pytest.raises(ModelFormatError, match="truncated or corrupt.*convert the model again"):
        parse_graph(data[:200], "cut.tflite")
    with pytest.raises(ModelFormatError, match="not a TFLite model"):
        parse_graph(b"PK\x03\x04keras-zip", "model.keras")
    with pytest.raises(ModelNotFoundError, match="edgeml convert"):
        read_graph(tmp_path / "missing.tflite")
