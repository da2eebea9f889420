"""Helpers for the model-store tests: keys, signed bundles of the small real models, a store that trusts them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="the [store] extra (cryptography) signs and verifies bundles")

from edgeml.store.bundle import create_bundle
from edgeml.store.keys import generate_keys
from edgeml.store.store import ModelStore

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "tiny_int8.tflite"
ROOT = Path(__file__).resolve().parents[2]


def signed_store(tmp: Path) -> tuple[ModelStore, Path]:
    """A fresh store trusting a fresh key; return it and the private key."""
    private, public = generate_keys(tmp / "keys")
    store = ModelStore(tmp / "store")
    store.trust(public)
    return store, private


def bundle(tmp: Path, key: Path | None, version: int, model: Path = TINY, name: str = "tiny",
           extra: list[Path] | None = None) -> Path:
    """Sign ``model`` (plus ``extra`` files) as ``name`` ``version``; return the ``.edgeml`` path."""
    out = tmp / f"{name}-{version}.edgeml"
    create_bundle([model, *(extra or [])], name=name, version=version, output=out, key=key)
    return out


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m edgeml ARGS`` and return it (stdout/stderr as text)."""
    done = subprocess.run([sys.executable, "-m", "edgeml", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}, cwd=ROOT)
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def permuted_outputs(model: Path, out: Path) -> Path:
    """Write ``model`` with its last FULLY_CONNECTED's output rows rolled by one (weights and bias): a real model
    that loads, runs and verifies, but names the wrong class: the "broken retrain" a canary must reject."""
    import numpy as np

    from edgeml.model import ModelFile

    graph = ModelFile.open(model).graph
    fc = [op for op in graph.main.operators if op.name == "FULLY_CONNECTED"][-1]
    data = bytearray(model.read_bytes())
    for index in fc.inputs[1:3]:
        tensor = graph.main.tensors[index]
        offset, length = graph.buffer_span(tensor.buffer)
        rows = np.frombuffer(bytes(data[offset:offset + length]), np.uint8).reshape(tensor.shape[0], -1)
        data[offset:offset + length] = np.roll(rows, 1, axis=0).tobytes()
    out.write_bytes(bytes(data))
    return out
