"""edgeml.Index: exact cosine search, ids and metadata, remove, one-file save/load, and one-line errors."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import numpy as np
import pytest

from edgeml import Index, IndexFileError
from edgeml.errors import InvalidArgumentError


def _data(n=300, d=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_exact_search_returns_the_nearest_by_cosine_best_first(dtype):
    x = _data()
    index = Index(16, dtype=dtype)
    index.add_many([f"v{i}" for i in range(len(x))], x * 7.0, [{"i": i} for i in range(len(x))])
    query = x[42] + 0.01
    hits = index.search(query, k=5)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.argsort(-(unit @ (query / np.linalg.norm(query))))[:5]
    assert hits[0].id == "v42" and hits[0].metadata == {"i": 42}
    assert [h.id for h in hits][:3] == [f"v{i}" for i in truth[:3]]
    assert hits[0].score == pytest.approx(1.0, abs=0.01) and hits[0].score >= hits[1].score >= hits[4].score


def test_add_replaces_an_id_and_remove_drops_it():
    x = _data(10)
    index = Index(16)
    index.add_many([str(i) for i in range(10)], x)
    index.add("3", x[7], {"path": "seven.jpg"})
    assert len(index) == 10 and index.metadata("3") == {"path": "seven.jpg"}
    assert index.remove(["3", "nope"]) == 1 and "3" not in index and len(index) == 9
    assert all(h.id != "3" for h in index.search(x[7], k=9))


def test_save_and_load_round_trip_in_one_documented_file(tmp_path):
    x = _data(50)
    index = Index(16, dtype="float16", model={"name": "m.tflite", "sha256": "ab"})
    index.add_many([f"p/{i}.jpg" for i in range(50)], x, [{"n": i} for i in range(50)])
    path = index.save(tmp_path / "a.edgeml-index")
    with zipfile.ZipFile(path) as z:
        header = json.loads(z.read("index.json"))
        assert header["format"] == "edgeml-index" and header["dimension"] == 16 and header["count"] == 50
        assert np.load(z.open("vectors.npy")).dtype == np.float16
    again = Index.load(path)
    assert again.ids == index.ids and again.model == index.model and again.metadata("p/5.jpg") == {"n": 5}
    assert [h.id for h in again.search(x[5])] == [h.id for h in index.search(x[5])]


def test_corrupt_or_foreign_index_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.edgeml-index"
    bad.write_bytes(b"garbage")
    with pytest.raises(IndexFileError, match="not a readable edgeml index"):
        Index.load(bad)
    with zipfile.ZipFile(tmp_path / "other.edgeml-index", "w") as z:
        z.writestr("index.json", json.dumps({"format": "something-else"}))
    with pytest.raises(IndexFileError, match="not a readable"):
        Index.load(tmp_path / "other.edgeml-index")
    with pytest.raises(IndexFileError, match="not found"):
        Index.load(tmp_path / "missing.edgeml-index")


def test_vectors_or_queries_of_another_dimension_are_refused():
    index = Index(16, model={"name": "fashion.tflite"})
    index.add("a", np.ones(16))
    with pytest.raises(IndexFileError, match="dimension 8.*another embedding model"):
        index.add("b", np.ones(8))
    with pytest.raises(IndexFileError, match="dimension 1280.*fashion.tflite"):
        index.search(np.ones(1280))
    with pytest.raises(InvalidArgumentError):
        index.search(np.ones(16), k=0)


def test_auto_backend_is_exact_for_small_indexes():
    index = Index(16)
    index.add_many([str(i) for i in range(100)], _data(100))
    assert index.active_backend() == "exact"
    assert Index(16, backend="usearch").active_backend() == "usearch"


@pytest.mark.skipif(importlib.util.find_spec("usearch") is None, reason='needs pip install "edgeml[ann]"')
def test_usearch_backend_finds_what_exact_search_finds_and_saves_its_graph(tmp_path):
    x = _data(2000, 32, seed=3)
    exact = Index(32, dtype="int8", backend="exact")
    exact.add_many([str(i) for i in range(len(x))], x)
    ann = Index(32, dtype="int8", backend="usearch")
    ann.add_many([str(i) for i in range(len(x))], x)
    queries = x[:50] + 0.05 * _data(50, 32, seed=4)
    recall = np.mean([len({h.id for h in ann.search(q, 10)} & {h.id for h in exact.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.9
    path = ann.save(tmp_path / "ann.edgeml-index")
    with zipfile.ZipFile(path) as z:
        assert "usearch.bin" in z.namelist()
    assert Index.load(path).search(x[7], 1)[0].id == "7"
