"""Every quantization mode on the real Fashion-MNIST CNN, the report, folding, reproducibility, standard metadata."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from edgeml import Classifier
from edgeml.model.metadata import read_metadata

pytestmark = pytest.mark.converter


@pytest.fixture(scope="module")
def all_modes(fashion, tmp_path_factory):
    """One conversion run: float32, float16, dynamic and int8, evaluated on the 1,000-image test folder."""
    from edgeml_converters.config import QUANTIZE_MODES, ConvertConfig
    from edgeml_converters.convert import convert

    out = tmp_path_factory.mktemp("modes")
    return convert(fashion.model, ConvertConfig(out, calibration_dir=fashion.calibration_dir, labels=fashion.labels,
                                                quantize=tuple(QUANTIZE_MODES), eval_dir=fashion.test_dir,
                                                progress=False))


def test_every_mode_is_written_and_listed(all_modes):
    by_mode = {m.mode: m for m in all_modes.models}
    assert list(by_mode) == ["float32", "float16", "dynamic", "int8"]
    assert set(all_modes.files) >= {m.path for m in all_modes.models} | {all_modes.report_path}
    assert all(p.is_file() for p in all_modes.files)
    size = {mode: m.path.stat().st_size for mode, m in by_mode.items()}
    assert size["int8"] <= 0.3 * size["float32"]
    assert size["float16"] < 0.6 * size["float32"] and size["dynamic"] < 0.35 * size["float32"]
    assert by_mode["float16"].input.dtype == np.float32 and by_mode["int8"].input.dtype == np.uint8
    assert by_mode["int8"].graph.tensor_dtypes.get("FLOAT32", 0) == 0, "int8 model keeps float tensors"


def test_report_shows_int8_kept_the_accuracy(all_modes):
    report = json.loads(all_modes.report_path.read_text())
    assert report["images"] == 1000
    float_entry, *models = report["models"]
    int8 = next(e for e in models if e["quantize"] == "int8")
    print(f"float {float_entry['top1_accuracy']:.4f} int8 {int8['top1_accuracy']:.4f} "
          f"agreement {int8['agreement_with_float']:.4f} size {int8['file_bytes']}")
    assert float_entry["top1_accuracy"] > 0.78, "the test model did not train"
    assert int8["agreement_with_float"] >= 0.99
    assert int8["top1_accuracy"] >= float_entry["top1_accuracy"] - 0.01
    assert int8["exact_input"] is True and int8["input"]["scale"] == 1.0 and int8["input"]["zero_point"] == 0
    assert int8["ops"]["CONV_2D"] == 2 and "SIN" not in int8["ops"]
    assert np.sum(int8["confusion_matrix"]) == 1000 and len(int8["per_class_accuracy"]) == 10
    # The split of the disagreement: the float graph with the int8 weights agrees at least as well here.
    assert int8["weights_only_layers"]["left_float"] == 0 and int8["weights_only_layers"]["int8"] >= 3
    assert int8["agreement_weights_only"] >= 0.99
    assert all("agreement_weights_only" not in e for e in models if e["quantize"] != "int8")
    assert 0 <= int8["disagreements_tied"] <= round((1 - int8["agreement_with_float"]) * 1000)
    md = (all_modes.report_path.parent / "report.md").read_text()
    assert "fashion_cnn_int8.tflite" in md and "Per-class" in md and "Where int8 disagrees with float" in md
    assert "output ties" in md
    for plot in ("confusion_matrix.png", "per_class_accuracy.png"):
        assert (all_modes.report_path.parent / plot).read_bytes()[:4] == b"\x89PNG"


def test_weights_only_graph_carries_the_int8_weights(all_modes):
    """The report's weights-only model: the float graph, every weight layer on its int8 model's grid."""
    from edgeml.model.graph import parse_graph

    by_mode = {m.mode: m for m in all_modes.models}
    twin, int8 = by_mode["int8"].weights_only, parse_graph(by_mode["int8"].path.read_bytes())
    assert twin is not None and by_mode["float32"].weights_only is None
    f32, model = parse_graph(by_mode["float32"].path.read_bytes()), parse_graph(twin.model)
    scales = {t.name: t.quantization for t in int8.main.tensors if t.dtype == "int8" and t.is_constant}
    checked = 0
    for op, ref in zip(model.main.operators, f32.main.operators, strict=True):
        if op.name not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        w, t = model.constant(model.main.tensors[op.inputs[1]]), model.main.tensors[op.inputs[1]]
        q = next(q for name, q in scales.items() if name == t.name)
        steps = w.reshape(w.shape[0], -1) / np.asarray(q.scale)[:, None]
        assert w.dtype == np.float32 and np.allclose(steps, np.round(steps), atol=1e-3), op.name
        original = f32.constant(f32.main.tensors[ref.inputs[1]]).reshape(w.shape[0], -1) / np.asarray(q.scale)[:, None]
        assert 0 < np.abs(steps - original).max() <= 1.0 + 1e-3  # floor or ceil of the float weight, not the float
        checked += 1
    assert checked >= 3


def test_standard_metadata_is_inside_every_model(all_modes):
    for m in all_modes.models:
        meta = read_metadata(m.path)
        assert meta.tflite is not None and meta.tflite.min_parser_version == "1.0.0"
        assert meta.tflite.labels_file == "labels.txt" and meta.tflite.color_space == "grayscale"
        assert meta.tflite.mean == (0.0,) and meta.tflite.std == (1.0,)
        assert meta.labels is not None and meta.labels[9] == "Ankle boot"
        info = meta.info
        assert info["quantization"] == m.mode and info["content_sha256"] == m.content_sha256
        assert info["versions"]["tensorflow"] and info["preprocessing"]["resize"] == "stretch"
        assert sorted(zipfile.ZipFile(m.path).namelist()) == ["edgeml.json", "labels.txt"]


def test_int8_conversion_is_byte_reproducible(fashion, tmp_path):
    """Two runs write the same bytes, whichever spelling of convert() (config or keywords) each uses."""
    from edgeml_converters.config import ConvertConfig
    from edgeml_converters.convert import convert

    settings = dict(calibration_dir=fashion.calibration_dir, labels=fashion.labels, max_calibration_images=64,
                    check_images=0, progress=False)
    runs = [convert(fashion.model, tmp_path / "keywords", **settings),
            convert(fashion.model, ConvertConfig(tmp_path / "config", **settings))]
    assert runs[0].model_path.read_bytes() == runs[1].model_path.read_bytes()


def test_declared_normalisation_is_folded_so_raw_bytes_go_in(fashion, tmp_path):
    """A model trained on [0, 1] inputs, declared with the preset: int8 I/O, raw pixels in, exact, same answers.

    One (p - mean) / std with an integer mean folds into the input quantization (scale 1/std, zero point
    mean - 128 for int8): no normalisation ops, and the runtime flips the top bit of each byte."""
    import keras

    from edgeml_converters.convert import convert, preset

    inner = keras.models.load_model(fashion.model, compile=False)
    unit_input = keras.Input((28, 28, 1))
    model = keras.Model(unit_input, inner(keras.layers.Rescaling(255.0)(unit_input)), name="fashion_unit")
    mean, std = preset("[0,1]")
    from edgeml.preprocess import Preprocessing

    result = convert(model, tmp_path, calibration_dir=fashion.calibration_dir, io="int8", labels=fashion.labels,
                     preprocessing=Preprocessing(mean=mean, std=std), check_images=80, progress=False)
    m = result.models[0]
    assert m.input.dtype == np.int8 and m.output.dtype == np.int8
    assert m.input.scale == pytest.approx(1 / 255) and (m.input.zero_point, m.exact_input) == (-128, True)
    assert "MUL" not in m.graph.ops and "ADD" not in m.graph.ops
    assert m.agreement is not None and m.agreement >= 0.95
    info = read_metadata(m.path).info
    assert info["folded"] and info["fold"] == "input_quantization" and info["declared_preprocessing"]["std"] == [255.0]
    image = next(fashion.test_dir.glob("1_*/*.png"))
    assert Classifier(m.path).classify(image, top_k=1)[0].label == "Trouser"


def test_bgr_fold_layer_swaps_channels_and_normalises():
    from edgeml.preprocess import Preprocessing
    from edgeml_converters.loading import Fold, fold_layer
    from edgeml_converters.quantize.calibration import normalize

    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    pixels = np.random.default_rng(0).integers(0, 256, (1, 4, 5, 3)).astype(np.float32)
    for order in ("rgb", "bgr"):
        out = np.asarray(fold_layer(Fold(mean, std, order), 3)(pixels))
        src = pixels[..., ::-1] if order == "bgr" else pixels
        expected = normalize(src, Preprocessing(mean=mean, std=std))
        assert np.allclose(out, expected, atol=1e-4)
