"""The learned-examples store: embeddings and labels only, per model, private files, forget removes the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from edgeml.errors import InvalidArgumentError, LearnError
from edgeml.learn import ExampleStore, forget_everywhere, model_key
from edgeml.model import ModelFile
from edgeml.store import STORE_ENV, store_dir

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture()
def models():
    a = ModelFile.open(DATA / "tiny_int8.tflite")
    b = ModelFile.open(DATA / "tiny_float32.tflite")
    return a, b


def test_store_dir_is_explicit_then_environment_then_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "env"))
    assert store_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert store_dir() == tmp_path / "env"
    monkeypatch.delenv(STORE_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert store_dir() == tmp_path / "xdg" / "edgeml"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert store_dir() == Path.home() / ".local" / "share" / "edgeml"


def test_examples_are_kept_per_model_under_learned_with_private_modes(tmp_path, models):
    a, b = models
    store_a, store_b = ExampleStore(a, 4, tmp_path), ExampleStore(b, 4, tmp_path)
    assert store_a.add("mug", np.ones((2, 4))) == 2
    assert store_a.add("mug", np.zeros((3, 4))) == 5
    store_b.add("cat", np.ones((1, 4)))
    assert [e.label for e in store_a.labels()] == ["mug"] and [e.label for e in store_b.labels()] == ["cat"]
    root = tmp_path / "learned" / model_key(a)
    assert root.is_dir() and model_key(a) != model_key(b)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = sorted(p.name for p in root.iterdir())
    assert files == ["6d7567.npz", "model.json"]  # "mug" in hex; nothing else (no temporary file left)
    for f in root.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    with np.load(root / "6d7567.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["label", "vectors"] and data["vectors"].shape == (5, 4)


def test_forget_removes_every_trace_of_a_label(tmp_path, models):
    a, b = models
    for m in models:
        ExampleStore(m, 4, tmp_path).add("my cat", np.ones((2, 4)))
    ExampleStore(a, 4, tmp_path).add("mug", np.ones((1, 4)))
    assert forget_everywhere("my cat", tmp_path) == 2
    everything = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    names = " ".join(str(p) for p in tmp_path.rglob("*"))
    assert b"my cat" not in everything and "6d7920636174" not in names
    assert [e.label for e in ExampleStore(a, 4, tmp_path).labels()] == ["mug"]
    assert not ExampleStore(b, 4, tmp_path).forget("my cat")


def test_bad_labels_and_vectors_are_refused(tmp_path, models):
    store = ExampleStore(models[0], 4, tmp_path)
    with pytest.raises(InvalidArgumentError, match="one line"):
        store.add("two\nlines", np.ones((1, 4)))
    with pytest.raises(InvalidArgumentError, match="dimension 3"):
        store.add("x", np.ones((1, 3)))
    with pytest.raises(LearnError, match="No examples"):
        store.add("x", np.zeros((0, 4)))


def test_unreadable_examples_file_is_a_one_line_error_naming_the_fix(tmp_path, models):
    store = ExampleStore(models[0], 4, tmp_path)
    store.add("mug", np.ones((1, 4)))
    path = tmp_path / "learned" / model_key(models[0]) / "6d7567.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(LearnError, match="unreadable.*learn forget"):
        store.labels()
    assert os.path.exists(path)


def test_the_kiosk_service_keeps_its_store_in_var_lib_edgeml():
    from edgeml.service.unit import ServiceSpec, render_unit

    unit = render_unit(ServiceSpec(model="/m.tflite", source="camera", user="pi"))
    assert "Environment=EDGEML_STORE=/var/lib/edgeml" in unit and "StateDirectory=edgeml" in unit
