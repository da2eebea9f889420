"""Shared fixtures: real models built once per checkout and cached under build/test-cache/.

The Fashion-MNIST CNN is trained and converted the first time a test needs it (about 15 s); later runs reuse
the files. Delete build/ to rebuild them.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("EDGEML_TEST_CACHE", ROOT / "build" / "test-cache"))
HAS_TF = importlib.util.find_spec("tensorflow") is not None
FASHION_DIR = Path(os.environ.get("EDGEML_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))


def run_cli(*args: str, check: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m edgeml ARGS`` in a subprocess, as a user would; return the completed process."""
    return subprocess.run([sys.executable, "-m", "edgeml", *args], capture_output=True, text=True, check=check,
                          timeout=300, env=env)


@pytest.fixture(scope="session")
def fashion():
    """The trained Fashion-MNIST artifacts (keras model, labels, image folders).

    Built with TensorFlow on first use; a runtime-only environment (no TensorFlow) reuses the cached files.
    """
    from tests import fashion_model as fashion_mnist_model

    cached = fashion_mnist_model.prepare(CACHE / "fashion", build=False)
    if cached is not None:
        return cached
    if not HAS_TF:
        pytest.skip("needs TensorFlow (pip install -e '.[convert]') to train the test model, or a built cache")
    if not (FASHION_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("needs Debian's dataset-fashion-mnist (make test installs it)")
    return fashion_mnist_model.prepare(CACHE / "fashion")


def _cached_or_convert(model: Path, source: Path, **kwargs) -> Path:
    """Return ``model`` if it is newer than ``source``; else convert (needs TensorFlow) into its folder."""
    if model.is_file() and model.stat().st_mtime >= source.stat().st_mtime:
        return model
    if not HAS_TF:
        pytest.skip("needs TensorFlow to convert the test model")
    from edgeml_converters.convert import convert

    convert(source, model.parent, progress=False, **kwargs)
    return model


@pytest.fixture(scope="session")
def fashion_int8(fashion):
    """Path of the int8 .tflite converted from the Fashion-MNIST model (labels embedded)."""
    return _cached_or_convert(CACHE / "fashion" / "int8" / "fashion_cnn_int8.tflite", fashion.model,
                              calibration_dir=fashion.calibration_dir, labels=fashion.labels)


@pytest.fixture(scope="session")
def fashion_float(fashion):
    """Path of the float32 .tflite of the same model."""
    return _cached_or_convert(CACHE / "fashion" / "float32" / "fashion_cnn_float32.tflite", fashion.model,
                              quantize="float32", labels=fashion.labels)


@pytest.fixture(scope="session")
def fashion_embedding(fashion):
    """Path of the int8 embedding model cut from the Fashion-MNIST CNN (64-d, L2-normalised; ~10 s to convert)."""
    return _cached_or_convert(CACHE / "fashion" / "embedding" / "fashion_cnn_embedding_int8.tflite", fashion.model,
                              calibration_dir=fashion.calibration_dir, embedding=True)


@pytest.fixture(scope="session")
def photos() -> dict[str, object]:
    """Real colour photos (numpy uint8 RGB) from scikit-image's bundled data: CC0 / public domain."""
    data = pytest.importorskip("skimage.data")
    return {"chelsea": data.chelsea(), "coffee": data.coffee(), "astronaut": data.astronaut()}
