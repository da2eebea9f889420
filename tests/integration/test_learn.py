"""On-device learning end to end with a real embedding model (the Fashion-MNIST CNN cut at its 64-d features):
the Embedder's fast path, examples stored, a head exported as real TFLite ops that Classifier runs, kept classes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import edgeml
from edgeml.errors import LearnError, ModelFormatError
from edgeml.learn.session import LearnSession
from edgeml.model import ModelFile
from edgeml.model.graph import parse_graph
from edgeml.model.metadata import read_tflite_metadata


def _images(fashion, name: str, n: int) -> list[Path]:
    folder = next(p for p in sorted(Path(fashion.test_dir).iterdir()) if p.name.endswith(name))
    return sorted(folder.iterdir())[:n]


def test_embedder_returns_unit_int8_embeddings_through_the_classifier_fast_path(fashion, fashion_embedding):
    with edgeml.Embedder(fashion_embedding) as emb:
        assert emb.dimension == 64 and emb.normalized and emb.input_path == emb.pipeline.planner.quantizer.kind
        e = emb.embedding(_images(fashion, "Bag", 1)[0])
        assert e.raw.dtype == np.uint8 and e.scale == pytest.approx(1 / 128)
        np.testing.assert_allclose(e.vector, (e.raw.astype(np.int32) - e.zero_point) * e.scale, rtol=1e-6)
        assert np.linalg.norm(e.vector) == pytest.approx(1.0, abs=0.03)
        bags = [emb.embed(p) for p in _images(fashion, "Bag", 3)]
        trousers = [emb.embed(p) for p in _images(fashion, "Trouser", 3)]
        assert edgeml.cosine_similarity(bags[0], bags[1]) > edgeml.cosine_similarity(bags[0], trousers[0])
        prediction = emb.run(_images(fashion, "Bag", 1)[0])
        assert prediction.timings.invoke > 0 and isinstance(prediction.results[0], edgeml.Embedding)


def test_embedder_streams(fashion_embedding):
    with edgeml.Embedder(fashion_embedding) as emb:
        results = list(edgeml.stream("synthetic:64x48", emb, max_frames=5))
    assert len(results) == 5 and all(r.results[0].dimension == 64 for r in results)


def test_classifier_and_embedder_refuse_each_others_models(fashion_int8, fashion_embedding):
    with pytest.raises(ModelFormatError, match="embedding model.*edgeml.Embedder"):
        edgeml.Classifier(fashion_embedding)
    with pytest.raises(ModelFormatError, match="image classifier.*edgeml convert efficientnet-lite0 --embedding"):
        edgeml.Embedder(fashion_int8)


@pytest.mark.parametrize("method", ["imprint", "fit"])
def test_exported_model_is_a_standard_int8_classifier_agreeing_with_the_numpy_head(fashion, fashion_embedding,
                                                                                   tmp_path, method):
    session = LearnSession(fashion_embedding, tmp_path / "store")
    classes = ("Trouser", "Bag", "Sneaker", "Dress")
    for name in classes:
        session.add(name.lower(), _images(fashion, name, 10))
    path, head = session.export(tmp_path / "out", method=method)
    graph = parse_graph(path.read_bytes())
    assert [op.name for op in graph.main.operators][-3:] == ["FULLY_CONNECTED", "SOFTMAX", "QUANTIZE"]
    assert graph.main.tensors[graph.main.outputs[0]].dtype == "uint8"
    with zipfile.ZipFile(path) as z:  # the associated files, as standard TFLite tools read them
        assert z.read("labels.txt").decode().split() == sorted(n.lower() for n in classes)
    assert read_tflite_metadata(path.read_bytes()).labels_file == "labels.txt"
    held = [p for name in classes for p in _images(fashion, name, 40)[10:]]
    with edgeml.Classifier(path) as clf, edgeml.Embedder(fashion_embedding) as emb:
        assert clf.labels == head.labels
        ours = [clf.classify(p, top_k=1)[0].index for p in held]
        numpy_head = head.predict(np.stack([emb.embed(p) for p in held]))
    assert np.mean(np.array(ours) == numpy_head) >= 0.95
    truth = np.repeat([head.labels.index(n.lower()) for n in classes], 30)
    assert np.mean(np.array(ours) == truth) >= 0.8


def test_keep_classes_extends_an_exported_classifier(fashion, fashion_embedding, tmp_path):
    first = LearnSession(fashion_embedding, tmp_path / "a")
    first.add("trouser", _images(fashion, "Trouser", 8))
    first.add("bag", _images(fashion, "Bag", 8))
    old, _ = first.export(tmp_path / "v1")
    second = LearnSession(fashion_embedding, tmp_path / "b")
    second.add("sneaker", _images(fashion, "Sneaker", 8))
    new, head = second.export(tmp_path / "v2", keep_classes=old)
    assert head.labels == ("bag", "trouser", "sneaker")
    with edgeml.Classifier(new) as clf:
        for name, label in (("Trouser", "trouser"), ("Bag", "bag"), ("Sneaker", "sneaker")):
            answers = [clf.classify(p, top_k=1)[0].label for p in _images(fashion, name, 30)[10:]]
            assert answers.count(label) >= 16, (label, answers)
    with pytest.raises(LearnError, match="last layer does not read a normalised embedding"):
        second.export(tmp_path / "v3", keep_classes=fashion_embedding)


def test_learning_without_an_embedding_model_says_how_to_make_one(tmp_path):
    with pytest.raises(LearnError, match="edgeml convert efficientnet-lite0 --embedding"):
        LearnSession(None, tmp_path)


def test_export_with_nothing_learned_is_an_error(fashion_embedding, tmp_path):
    with pytest.raises(LearnError, match="Nothing learned yet"):
        LearnSession(fashion_embedding, tmp_path).export(tmp_path / "out")


def test_extend_keeps_every_old_object_valid(fashion_int8):
    """Re-rooting a real model on itself through the forward writer gives a model that runs the same."""
    from edgeml.model import metadata as model_metadata
    from edgeml.model._fbwrite import Old, Scalars, Table, Vector, extend
    from edgeml.model._flatbuf import root

    data = model_metadata.strip(ModelFile.open(fashion_int8).data)
    fb = root(data)
    sg = fb.tables(2)[0]
    graph = parse_graph(data)
    subgraph = Table({0: Vector([Old(t.pos) for t in sg.tables(0)]), 1: Scalars("i", graph.main.inputs),
                      2: Scalars("i", graph.main.outputs), 3: Vector([Old(o.pos) for o in sg.tables(3)])})
    rebuilt = extend(data, Table({0: ("I", 3), 1: Vector([Old(c.pos) for c in fb.tables(1)]),
                                  2: Vector([subgraph]), 4: Vector([Old(b.pos) for b in fb.tables(4)])}))
    assert len(rebuilt) % 16 == len(data) % 16
    image = np.random.default_rng(0).integers(0, 255, (28, 28), dtype=np.uint8)
    a = edgeml.Classifier(ModelFile.from_bytes(data)).scores(image)
    b = edgeml.Classifier(ModelFile.from_bytes(rebuilt), labels=None).scores(image)
    np.testing.assert_array_equal(a, b)
