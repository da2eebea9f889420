"""``edgeml learn`` / ``index`` / ``similar`` as a user runs them: results, one-line errors, and privacy
(learning writes only embeddings into the store and opens no socket; checked with an audit hook)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.test_stream_cli import _AUDIT


def _class_dir(fashion, name: str) -> Path:
    return next(p for p in sorted(Path(fashion.test_dir).iterdir()) if p.name.endswith(name))


@pytest.fixture()
def env(tmp_path):
    return {**os.environ, "EDGEML_STORE": str(tmp_path / "store")}


def test_learn_add_list_export_classify_forget(fashion, fashion_embedding, tmp_path, env):
    m = str(fashion_embedding)
    for label, folder in (("bag", "Bag"), ("trouser", "Trouser")):
        proc = run_cli("learn", "add", label, "--model", m, str(_class_dir(fashion, folder)), env=env)
        assert proc.returncode == 0, proc.stderr
        assert f"{label}: +100 examples (100 in all)" in proc.stdout
    proc = run_cli("learn", "list", "--json", env=env)
    assert sorted((r["label"], r["examples"]) for r in map(json.loads, proc.stdout.splitlines())) == \
        [("bag", 100), ("trouser", 100)]
    proc = run_cli("learn", "export", "--model", m, "--output", str(tmp_path / "out"), "--method", "fit", "--json",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["classes"] == ["bag", "trouser"] and out["held_out_accuracy"] > 0.9
    bag = sorted(_class_dir(fashion, "Bag").iterdir())[0]
    proc = run_cli("classify", "--model", out["path"], "--top-k", "1", "--json", str(bag))
    assert json.loads(proc.stdout)["results"][0]["label"] == "bag"
    proc = run_cli("learn", "forget", "bag", env=env)
    assert proc.returncode == 0 and "forgot 'bag'" in proc.stdout
    assert not list((tmp_path / "store").rglob("626167.npz"))
    assert run_cli("learn", "forget", "bag", env=env).returncode == 1


def test_learn_predict_gates_with_min_score_and_consensus(fashion, fashion_embedding, env):
    m = str(fashion_embedding)
    run_cli("learn", "add", "bag", "--model", m, str(_class_dir(fashion, "Bag")), env=env, check=True)
    run_cli("learn", "add", "boot", "--model", m, str(_class_dir(fashion, "Ankle-boot")), env=env, check=True)
    proc = run_cli("learn", "predict", "--model", m, "--consensus", "3", "--json", "--source",
                   f"images:{_class_dir(fashion, 'Bag')}", "--frames", "5", env=env)
    answers = [json.loads(line)["label"] for line in proc.stdout.splitlines()]
    assert answers[:2] == ["unknown", "unknown"] and answers[2:] == ["bag"] * 3, proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["learn", "add", "mug", "x.jpg"], "needs an embedding model.*edgeml convert efficientnet-lite0 --embedding"),
    (["learn", "export", "--output", "o", "--model", "EMB"], "Nothing learned yet"),
    (["learn", "add", "mug", "--model", "CLASSIFIER", "x.jpg"], "image classifier.*--embedding"),
])
def test_learning_errors_are_one_line_with_the_fix(fashion_int8, fashion_embedding, env, args, message):
    import re

    args = [str(fashion_embedding) if a == "EMB" else str(fashion_int8) if a == "CLASSIFIER" else a for a in args]
    proc = run_cli(*args, env=env)
    assert proc.returncode == 1, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and re.search(message, proc.stderr), proc.stderr


def test_index_add_similar_remove_and_bad_index_files(fashion, fashion_embedding, tmp_path, env):
    m = str(fashion_embedding)
    bags, trousers = _class_dir(fashion, "Bag"), _class_dir(fashion, "Trouser")
    proc = run_cli("index", "add", "clothes", "--model", m, str(bags), str(trousers), env=env)
    assert proc.returncode == 0, proc.stderr
    query = sorted(bags.iterdir())[3]
    proc = run_cli("similar", str(query), "--index", "clothes", "--top-k", "5", "--json", env=env)
    hits = [json.loads(line) for line in proc.stdout.splitlines()]
    assert hits[0]["id"] == str(query) and hits[0]["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert all(Path(h["path"]).parent == bags for h in hits)
    assert run_cli("index", "remove", "clothes", str(query), env=env).returncode == 0
    proc = run_cli("similar", str(query), "--index", "clothes", "--top-k", "1", "--json", env=env)
    assert json.loads(proc.stdout)["id"] != str(query)
    # An index of another model's dimension, and a corrupt index file: one line each, exit 1.
    other = tmp_path / "other.edgeml-index"
    import numpy as np

    from edgeml import Index

    Index(1280, model={"name": "efficientnet_lite0_embedding_int8.tflite"}).save(other)
    Index.load(other).add("x", np.ones(1280))
    proc = run_cli("index", "add", str(other), "--model", m, str(query), env=env)
    assert proc.returncode == 1 and "dimension 64 cannot go into an index of dimension 1280" in proc.stderr
    bad = tmp_path / "bad.edgeml-index"
    bad.write_bytes(b"\x00" * 100)
    proc = run_cli("similar", str(query), "--index", str(bad), "--model", m, env=env)
    assert proc.returncode == 1 and "not a readable edgeml index" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["images", "source"])
def test_privacy_learning_writes_only_embeddings_to_the_store_and_opens_no_socket(fashion, fashion_embedding,
                                                                                  tmp_path, how):
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "EDGEML_STORE": str(store)}
    inputs = [str(_class_dir(fashion, "Bag"))] if how == "images" else ["--source", "synthetic", "--frames", "20"]
    proc = subprocess.run([sys.executable, "-c", _AUDIT, "learn", "add", "bag", "--model", str(fashion_embedding),
                           *inputs], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    audit = json.loads(proc.stderr.split("AUDIT ", 1)[1])
    assert not [e for e in audit if e[0].startswith("socket.")]
    touched = [e for e in audit if str(store) not in e[1]]
    assert touched == [], touched  # every write is inside the store ...
    written = [p for p in store.rglob("*") if p.is_file()]
    assert sorted(p.suffix for p in written) == [".json", ".npz"]  # ... and is the examples file and model.json
    assert not [p for p in written if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".npy")]
