"""A small real model for tests and the demo: a CNN trained on Fashion-MNIST (Debian package, no download).

The model keeps ``Rescaling(1/255)`` inside, so its input is raw 0..255 pixels and its int8 version takes the
image bytes unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeml_converters.datasets import fashion_mnist


@dataclass(frozen=True)
class FashionArtifacts:
    """Files :func:`prepare` leaves in the build folder."""

    model: Path  # .keras
    labels: Path  # labels.txt
    calibration_dir: Path  # PNGs from the training split, one folder per class
    test_dir: Path  # PNGs from the test split, one folder per class


def build_model(num_classes: int = 10):  # -> keras.Model
    """Return an uncompiled small CNN taking uint8-range (28, 28, 1) pixels."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="fashion_cnn")


def train(path: Path, train_images: int = 8000, epochs: int = 4, seed: int = 0) -> Path:
    """Train on the first ``train_images`` training images and save to ``path`` (.keras)."""
    import keras

    keras.utils.set_random_seed(seed)
    images, labels = fashion_mnist.load("train")
    x = images[:train_images, :, :, None].astype(np.float32)
    y = labels[:train_images].astype(np.int64)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def prepare(build_dir: str | os.PathLike[str], build: bool = True) -> FashionArtifacts | None:
    """Train the model and write the image folders into ``build_dir`` unless they are already there.

    With ``build=False`` return the artifacts only if all of them already exist (no TensorFlow needed), else None.
    """
    root = Path(build_dir)
    art = FashionArtifacts(root / "fashion_cnn.keras", root / "labels.txt", root / "calibration", root / "test")
    if not build:
        done = art.model.is_file() and art.labels.is_file() and art.calibration_dir.is_dir() and art.test_dir.is_dir()
        return art if done else None
    if not art.labels.is_file():
        root.mkdir(parents=True, exist_ok=True)
        art.labels.write_text("\n".join(fashion_mnist.LABELS) + "\n", encoding="utf-8")
    if not art.calibration_dir.is_dir():
        # Training-split images the model was not trained on (indices past train_images).
        fashion_mnist.write_image_folder(art.calibration_dir, "train", per_class=40, start=50000)
    if not art.test_dir.is_dir():
        fashion_mnist.write_image_folder(art.test_dir, "test", per_class=100)
    if not art.model.is_file():
        train(art.model)
    return art


def float_accuracy(model_path: Path, split: str = "test", count: int = 2000) -> float:
    """Return the Keras (float) model's top-1 accuracy on the first ``count`` images of ``split``."""
    import keras

    images, labels = fashion_mnist.load(split)
    model = keras.models.load_model(model_path, compile=False)
    pred = model.predict(images[:count, :, :, None].astype(np.float32), verbose=0, batch_size=256)
    return float(np.mean(np.argmax(pred, axis=-1) == labels[:count]))


def tflite_accuracy(model_path: Path, split: str = "test", count: int = 2000) -> float:
    """Return a .tflite model's top-1 accuracy through the edgeml runtime (the same path users take)."""
    from edgeml import Classifier

    images, labels = fashion_mnist.load(split)
    clf = Classifier(model_path)
    hits = sum(int(clf.classify(images[i], top_k=1)[0].index == labels[i]) for i in range(count))
    return hits / count
