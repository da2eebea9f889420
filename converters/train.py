"""Transfer learning from an image folder: pretrained EfficientNet-Lite + new head → int8 .tflite.

    edgeml train DATA_DIR --backbone efficientnet-lite0 --output DIR

1. Load the folder (one sub-folder per class), hold out a stratified validation split.
2. Train a new softmax head on the frozen ImageNet backbone, with flip / small rotation / zoom augmentation
   and early stopping on the validation loss (best weights restored).
3. Optionally (``fine_tune``) unfreeze the top blocks and train them at a low learning rate (BatchNorm stays
   frozen: its statistics come from ImageNet and a small dataset would spoil them).
4. Save ``DIR/model.keras``, convert it with :func:`edgeml_converters.convert.convert` to
   ``DIR/model_int8.tflite`` (calibrated on training images) and report float vs int8 accuracy on the held-out
   split, the int8 one measured through the device runtime.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import InvalidArgumentError
from edgeml.preprocess import Preprocessing
from edgeml_converters import backbones
from edgeml_converters.datasets import image_folder
from edgeml_converters.progress import bar, counter, step
from edgeml_converters.quantize.agreement import float_top1, top1_agreement
from edgeml_converters.tf import quietly

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (defaults suit a few hundred images on a laptop CPU)."""

    backbone: str = "efficientnet-lite0"
    epochs: int = 10
    fine_tune: bool = False
    fine_tune_fraction: float = 0.3  # share of MBConv blocks (from the top) unfrozen by fine_tune
    image_size: int | None = None  # default: the backbone's (224 for lite0)
    batch_size: int = 32
    val_split: float = 0.2
    learning_rate: float = 1e-3
    patience: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise InvalidArgumentError(f"epochs and batch_size must be >= 1. Received: {self.epochs}, "
                                       f"{self.batch_size}")
        if self.image_size is not None and self.image_size < 32:
            raise InvalidArgumentError(f"image_size must be >= 32 (the backbone downsamples 32x). Received: "
                                       f"{self.image_size}")


@dataclass
class TrainResult:
    """What :func:`train` wrote and measured (accuracies on the held-out split)."""

    model_path: Path  # int8 .tflite
    keras_path: Path
    classes: tuple[str, ...]
    train_images: int
    val_images: int
    skipped_images: int
    float_accuracy: float
    int8_accuracy: float
    agreement: float
    train_seconds: float
    epochs_run: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}


def training_preprocessing(net: backbones.Pretrained) -> Preprocessing:
    """Preprocessing of trained models: the backbone's normalisation, centre square of the whole short side.

    ImageNet evaluation also trims the border (crop fraction 0.875); a user's images are framed by the user,
    so nothing more is cut away.
    """
    return dataclasses.replace(net.preprocessing, crop_fraction=1.0)


def build_classifier(net: backbones.Pretrained, num_classes: int, dropout: float = 0.2) -> Any:
    """Return backbone (frozen, BatchNorm in inference mode) → dropout → softmax over ``num_classes``."""
    import keras

    net.model.trainable = False
    image = keras.Input(net.model.inputs[0].shape[1:], name="image")
    x = net.model(image, training=False)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(image, out, name=f"{net.name.replace('-', '_')}_classifier")


def unfreeze_top(backbone: Any, fraction: float) -> int:
    """Make the top ``fraction`` of MBConv blocks and the head conv trainable (not BatchNorm); return layers."""
    import keras

    def block_of(name: str) -> int | None:  # "block12_expand_conv" → 12
        head = name.split("_")[0]
        return int(head[5:]) if head.startswith("block") and head[5:].isdigit() else None

    indices = sorted({i for i in (block_of(layer.name) for layer in backbone.layers) if i is not None})
    first = indices[-max(1, round(fraction * len(indices)))]
    backbone.trainable = True
    count = 0
    for layer in backbone.layers:
        index = block_of(layer.name)
        top = layer.name.startswith("head") or (index is not None and index >= first)
        layer.trainable = top and not isinstance(layer, keras.layers.BatchNormalization)
        count += int(layer.trainable and bool(layer.weights))
    return count


def _dataset(data: image_folder.ImageFolder, prep: Preprocessing, batch: int, augment: Any, seed: int) -> Any:
    import tensorflow as tf

    mean, std = float(prep.mean[0]), float(prep.std[0])
    ds = tf.data.Dataset.from_tensor_slices((data.pixels, data.labels))
    if augment is not None:
        ds = ds.shuffle(len(data.labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch)

    def prepare(x: Any, y: Any) -> Any:
        x = tf.cast(x, tf.float32)
        if augment is not None:
            x = augment(x, training=True)
        return (x - mean) / std, y

    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _fit(model: Any, train_ds: Any, val_ds: Any, epochs: int, lr: float, patience: int, phase: str,
         progress: bool) -> int:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    # Keras's own progress (verbose=1) would print on stdout; ours goes to the terminal's stderr.
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=0,
                        callbacks=[stop, _epoch_progress(phase, progress)],
                        shuffle=False)  # the dataset reshuffles itself each epoch
    return len(history.history["loss"])


def _epoch_progress(phase: str, progress: bool) -> Any:
    """Return a Keras callback: a bar over each epoch's batches, the epoch's metrics to the debug log."""
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.shown: Any = None

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            desc = f"{phase}: epoch {epoch + 1}/{self.params.get('epochs')}"
            self.shown = counter(desc, self.params.get("steps"), unit="batch", enabled=progress)

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if self.shown is not None:
                self.shown.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items()}, refresh=False)
                self.shown.update(1)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._close()
            log.debug("%s epoch %d/%s: %s", phase, epoch + 1, self.params.get("epochs"),
                      ", ".join(f"{k}={float(v):.4f}" for k, v in (logs or {}).items()))

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            self._close()

        def _close(self) -> None:
            if self.shown is not None:
                self.shown.close()
                self.shown = None

    return EpochProgress()


@quietly
def train(data_dir: str | os.PathLike[str], output_dir: str | os.PathLike[str], config: TrainConfig = TrainConfig(),
          *, progress: bool = True) -> TrainResult:
    """Train a classifier on ``data_dir`` and write ``output_dir/model_int8.tflite`` (see the module docstring).

    ``progress`` shows a bar per epoch and per long step on stderr; Keras and TensorFlow print nothing (their
    text and each epoch's metrics go to the DEBUG log).

    Raises:
        DatasetError: Bad folder (missing, one class, an empty class, no readable image in a class).
        UnknownBackboneError: ``config.backbone`` is not one of the pretrained backbones (lists them).
        MissingDependencyError: The backbone's weights package is not installed (names it).
        ConversionError: The trained model could not be converted.
    """
    # Fail fast, before TensorFlow loads: unknown backbone, weights not installed, unusable folder.
    backbones.weights_path(config.backbone)
    image_folder.scan(data_dir)
    import keras

    from edgeml_converters.config import ConvertConfig
    from edgeml_converters.convert import convert

    keras.utils.set_random_seed(config.seed)
    with step(f"loading {config.backbone}", enabled=progress):
        net = backbones.load_pretrained(config.backbone, include_top=False, image_size=config.image_size)
    prep = training_preprocessing(net)
    data = image_folder.load(data_dir, net.image_size, prep, progress=progress)
    train_set, val_set = image_folder.split(data, config.val_split, config.seed)
    log.info("%d classes, %d training and %d validation images (%d unreadable skipped), input %d px",
             len(data.classes), len(train_set.labels), len(val_set.labels), len(data.skipped), net.image_size)

    model = build_classifier(net, len(data.classes))
    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=config.seed),
        keras.layers.RandomRotation(0.05, fill_mode="reflect", seed=config.seed),
        keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=config.seed),
    ], name="augment")
    train_ds = _dataset(train_set, prep, config.batch_size, augment, config.seed)
    val_ds = _dataset(val_set, prep, config.batch_size, None, config.seed)
    start = time.perf_counter()
    log.info("Training the new head on the frozen %s backbone", net.name)
    epochs = _fit(model, train_ds, val_ds, config.epochs, config.learning_rate, config.patience, "training head",
                  progress)
    if config.fine_tune:
        n = unfreeze_top(net.model, config.fine_tune_fraction)
        log.info("Fine-tuning %d layers of the top %.0f%% blocks", n, 100 * config.fine_tune_fraction)
        epochs += _fit(model, train_ds, val_ds, config.epochs, config.learning_rate / 10, config.patience,
                       "fine-tuning", progress)
    seconds = time.perf_counter() - start

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras_path = out / "model.keras"
    with step("saving model.keras", enabled=progress):
        model.save(keras_path)
    labels_path = out / "labels.txt"
    labels_path.write_text("\n".join(data.classes) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="edgeml-train-calib-") as tmp:
        calib = _link_images(train_set, Path(tmp))
        # Calibrate on the training images as trained: greyscale ones became RGB the same way the runtime does it.
        converted = convert(keras_path, ConvertConfig(out, calibration_dir=calib, labels=labels_path,
                                                      preprocessing=prep, progress=progress,
                                                      greyscale_calibration_ok=True))

    float_acc, int8_acc, agreement = evaluate(model, converted.model_path, val_set, prep, progress=progress)
    return TrainResult(converted.model_path, keras_path, data.classes, len(train_set.labels), len(val_set.labels),
                       len(data.skipped), float_acc, int8_acc, agreement, seconds, epochs, list(converted.notes))


def evaluate(model: Any, tflite_path: Path, data: image_folder.ImageFolder, prep: Preprocessing, *,
             progress: bool = False) -> tuple[float, float, float]:
    """Return (float accuracy, int8 accuracy, top-1 agreement) on ``data``; int8 through the device runtime."""
    from edgeml import Classifier

    float_top = float_top1(lambda batch: model.predict(batch, verbose=0, batch_size=64), data.pixels, prep)
    clf = Classifier(tflite_path)
    int8_top = np.array([int(np.argmax(clf.scores(path)))  # from the file, as a device would
                         for path in bar(data.paths, "checking int8 on the validation images", enabled=progress)])
    return (float(np.mean(float_top == data.labels)), float(np.mean(int8_top == data.labels)),
            top1_agreement(int8_top, float_top))


def _link_images(data: image_folder.ImageFolder, root: Path) -> Path:
    """Make ``root/<class>/<n><suffix>`` links to the readable images of ``data`` (a calibration folder)."""
    for n, (path, label) in enumerate(zip(data.paths, data.labels, strict=True)):
        folder = root / data.classes[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n:06d}{path.suffix.lower()}").symlink_to(path.resolve())
    return root
