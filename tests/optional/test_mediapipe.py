"""MediaPipe Tasks' ImageClassifier reads a model edgeml wrote (standard metadata) and agrees with our runtime.

Optional: mediapipe pulls in opencv-contrib-python, which clashes with opencv-python-headless, so it lives in its
own venv (``make test-mediapipe`` creates ``build/mediapipe-venv`` and runs this). Skipped when that venv is absent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeml import Classifier
from tests.conftest import HAS_TF, ROOT

pytestmark = [pytest.mark.optional, pytest.mark.converter]

MEDIAPIPE_PY = ROOT / "build" / "mediapipe-venv" / "bin" / "python"
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


@pytest.fixture(scope="module")
def rgb_fashion_int8(fashion, tmp_path_factory):
    """The trained Fashion-MNIST CNN behind an RGB→luma layer (PIL's ITU-R 601 weights), converted to int8.

    MediaPipe's classifier takes RGB models only; this is a real trained model with an RGB input.
    """
    if not MEDIAPIPE_PY.is_file():
        pytest.skip(f"needs {MEDIAPIPE_PY.relative_to(ROOT)} (make test-mediapipe creates it)")
    if not HAS_TF:
        pytest.skip("needs TensorFlow to convert the model")
    import keras

    from edgeml_converters.convert import convert
    from edgeml_converters.datasets import fashion_mnist

    inner = keras.models.load_model(fashion.model, compile=False)
    rgb = keras.Input((28, 28, 3))
    luma = keras.layers.Conv2D(1, 1, use_bias=False, name="luma",
                               kernel_initializer=keras.initializers.Constant([[[[0.299], [0.587], [0.114]]]]))
    model = keras.Model(rgb, inner(luma(rgb)), name="fashion_rgb")
    images, _ = fashion_mnist.load("train")
    out = tmp_path_factory.mktemp("mediapipe")
    np.savez(out / "calib.npz", images=np.repeat(images[50000:50300, :, :, None], 3, axis=-1))
    result = convert(model, out, calibration_dir=out / "calib.npz", labels=fashion.labels, check_images=0,
                     progress=False)
    return result.model_path


def _real_images(fashion) -> dict[str, np.ndarray]:
    """Real photos (scikit-image, scikit-learn, opencv-doc) and Fashion-MNIST test images, RGB 28×28."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    photos = {n: getattr(data, n)() for n in ("chelsea", "coffee", "astronaut", "rocket")}
    photos.update({f"sklearn{i}": im for i, im in enumerate(load_sample_images().images)})
    photos.update({p.stem: np.asarray(Image.open(p).convert("RGB")) for p in sorted(OPENCV_DATA.glob("*.jpg"))[:20]})
    for p in sorted(fashion.test_dir.glob("*/*.png"))[::25]:
        photos[f"fashion_{p.parent.name}_{p.stem}"] = np.asarray(Image.open(p).convert("RGB"))
    # Resized once here so both runtimes see identical 28×28 pixels (MediaPipe's resampler differs from PIL's).
    return {k: np.asarray(Image.fromarray(v).resize((28, 28), Image.Resampling.BILINEAR)) for k, v in photos.items()}


def test_mediapipe_reads_our_metadata_and_returns_our_top1(fashion, rgb_fashion_int8, tmp_path):
    images = _real_images(fashion)
    np.savez(tmp_path / "images.npz", **images)
    proc = subprocess.run([str(MEDIAPIPE_PY), str(Path(__file__).with_name("mediapipe_classify.py")),
                           str(rgb_fashion_int8), str(tmp_path / "images.npz")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = {r["image"]: r for r in map(json.loads, proc.stdout.splitlines())}
    clf = Classifier(rgb_fashion_int8)
    assert len(theirs) == len(images) >= 40
    for name, pixels in images.items():
        ours = clf.classify(pixels, top_k=1)[0]
        # MediaPipe found the labels through our TFLITE_METADATA (TENSOR_AXIS_LABELS → labels.txt in the zip).
        assert (theirs[name]["index"], theirs[name]["label"]) == (ours.index, ours.label), name
        assert abs(theirs[name]["score"] - ours.score) < 0.01, name
