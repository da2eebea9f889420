"""Transfer learning vs training from scratch on Fashion-MNIST with 50 images per class (``make transfer``).

Same 500 training images (the first 50 of each class in the training split) for both:

- transfer: ``edgeml train`` (EfficientNet-Lite0 with ImageNet weights, new head, int8 .tflite);
- scratch: the seed's dense model (Flatten → Dense 128 ReLU → Dense 10) on pixels / 255.

Both are scored on the same ``--test-images`` test images (100 per class by default); the transfer model as the
int8 .tflite through the device runtime, and as float Keras. The dense model is also trained on all 60k training
images and scored on the full 10k test split (the seed's figure, ≈ 88%). Training times are wall-clock on this
machine; other jobs may share its cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def dense_model():  # -> keras.Model
    """The seed's from-scratch model: Flatten → Dense 128 ReLU → Dense 10 (softmax)."""
    import keras

    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def train_dense(x: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> tuple[object, float]:
    """Train the dense model on uint8 images ``x`` (N, 28, 28); return it and the training seconds."""
    import keras

    keras.utils.set_random_seed(seed)
    model = dense_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x.astype(np.float32) / 255.0, y, epochs=epochs, batch_size=32, verbose=0)
    return model, time.perf_counter() - start


def dense_accuracy(model: object, x: np.ndarray, y: np.ndarray) -> float:
    pred = model.predict(x.astype(np.float32) / 255.0, verbose=0, batch_size=512)  # type: ignore[attr-defined]
    return float(np.mean(np.argmax(pred, axis=-1) == y))


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` images of each class, in dataset order."""
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build/experiments/transfer", help="work folder")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--test-images", type=int, default=1000, help="multiple of 10 (balanced)")
    parser.add_argument("--image-size", type=int, default=128, help="EfficientNet-Lite0 input side")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--fine-tune", action="store_true")
    parser.add_argument("--dense-epochs-small", type=int, default=30)
    parser.add_argument("--dense-epochs-full", type=int, default=10)
    args = parser.parse_args(argv)

    from edgeml_converters.tf import import_tensorflow, quiet

    import_tensorflow("the transfer-vs-scratch experiment")
    with quiet():  # TensorFlow's and Keras's text is logged at DEBUG; train's progress bars stay on stderr
        report = run(args)
    print(json.dumps(report, indent=2))
    return 0


def run(args: argparse.Namespace) -> dict[str, object]:
    """Train and score both models; return the figures."""
    import keras

    from edgeml import Classifier
    from edgeml_converters.datasets import fashion_mnist, image_folder
    from edgeml_converters.train import TrainConfig, evaluate, train

    build = Path(args.build)
    x_train, y_train = fashion_mnist.load("train")
    x_test, y_test = fashion_mnist.load("test")
    small = first_per_class(y_train, args.per_class)
    test = first_per_class(y_test, args.test_images // 10)
    train_dir = build / f"train_{args.per_class}"
    test_dir = build / f"test_{len(test)}"
    if not train_dir.is_dir():
        fashion_mnist.write_image_folder(train_dir, "train", per_class=args.per_class)
    if not test_dir.is_dir():
        fashion_mnist.write_image_folder(test_dir, "test", per_class=args.test_images // 10)

    report: dict[str, object] = {"train_images": len(small), "test_images": len(test)}
    config = TrainConfig(image_size=args.image_size, epochs=args.epochs, fine_tune=args.fine_tune, val_split=0.1)
    result = train(train_dir, build / "model", config)
    # Float (Keras) and int8 (.tflite through the device runtime, from the PNG files) on the same test images.
    prep = Classifier(result.model_path).preprocessing
    test_data = image_folder.load(test_dir, args.image_size, prep)
    keras_model = keras.models.load_model(result.keras_path, compile=False)
    float_acc, int8_acc, agreement = evaluate(keras_model, result.model_path, test_data, prep)
    report["transfer"] = {
        "backbone": config.backbone, "image_size": args.image_size, "fine_tune": args.fine_tune,
        "epochs_run": result.epochs_run, "train_seconds": round(result.train_seconds, 1),
        "float_test_accuracy": float_acc, "int8_test_accuracy": int8_acc, "int8_float_agreement": agreement,
        "val_float_accuracy": result.float_accuracy,
        "val_int8_accuracy": result.int8_accuracy, "model_kib": round(result.model_path.stat().st_size / 1024),
    }

    model, seconds = train_dense(x_train[small], y_train[small], args.dense_epochs_small)
    report["dense_500"] = {"epochs": args.dense_epochs_small, "train_seconds": round(seconds, 1),
                           "test_accuracy": dense_accuracy(model, x_test[test], y_test[test])}
    model, seconds = train_dense(x_train, y_train, args.dense_epochs_full)
    report["dense_60k"] = {"epochs": args.dense_epochs_full, "train_seconds": round(seconds, 1),
                           "test_accuracy_10k": dense_accuracy(model, x_test, y_test),
                           "test_accuracy_same_subset": dense_accuracy(model, x_test[test], y_test[test])}
    return report


if __name__ == "__main__":
    sys.exit(main())
