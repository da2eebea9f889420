"""Keras model → .tflite in every quantization mode, preprocessing folded in, standard metadata inside.

Modes: ``float32``; ``float16`` (weights stored as float16); ``dynamic`` (int8 weights, float activations); and
``int8`` (full integer, calibrated on real images; ``uint8``, ``int8`` or ``float32`` I/O). With ``fold`` (the
default) the declared normalisation and colour order run inside the model, so every written model takes raw RGB
pixels and an int8 model's uint8 input has scale 1, zero point 0: the runtime copies camera bytes in.

Each model carries standard TFLite metadata (``TFLITE_METADATA``: normalization, labels as an associated file) and
the associated files zip (``labels.txt``, ``edgeml.json``: resolved preprocessing, versions, a content hash). The
converter then checks what it wrote: static ``(1, H, W, C)`` input, no op left in float in an int8 model, top-1
agreement with the float model on held-out images, and with ``eval_dir`` a full report (:mod:`.report`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import ConversionError, InvalidArgumentError
from edgeml.labels import read_labels
from edgeml.preprocess import Preprocessing
from edgeml.tensors import TensorSpec
from edgeml_converters import loading
from edgeml_converters.progress import bar, step
from edgeml_converters.quantize import calibration
from edgeml_converters.quantize.agreement import float_top1, top1_agreement
from edgeml_converters.quantize.writer import WrittenModel, write_model
from edgeml_converters.tf import quietly

log = logging.getLogger(__name__)

__all__ = ["IO_TYPES", "PRESETS", "QUANTIZE_MODES", "WEIGHT_ROUNDING", "ConversionResult", "convert", "preset"]

QUANTIZE_MODES = ("float32", "float16", "dynamic", "int8")
IO_TYPES = ("uint8", "int8", "float32")
WEIGHT_ROUNDING = ("calibrated", "nearest")
# Normalisation presets in pixel units: the model's float input is (pixel - mean) / std.
PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "raw": ((0.0,), (1.0,)),
    "[0,1]": ((0.0,), (255.0,)),
    "[-1,1]": ((127.5,), (127.5,)),
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
}


def preset(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return ``(mean, std)`` of a normalisation preset.

    Raises:
        InvalidArgumentError: Unknown preset (the message lists the choices); also a ``ValueError``.
    """
    if name not in PRESETS:
        raise InvalidArgumentError(f"Unknown preprocessing preset {name!r}. Choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


@dataclass
class ConversionResult:
    """What :func:`convert` wrote and what it checked.

    Attributes:
        models: One :class:`WrittenModel` per quantization mode, in the order asked.
        files: Every file written (models, labels, report files), in writing order.
        report_path: ``report.json`` when an eval folder was given.
        notes: Warnings worth showing the user.
    """

    models: list[WrittenModel]
    files: list[Path] = field(default_factory=list)
    labels_path: Path | None = None
    report_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def model_path(self) -> Path:
        """Path of the first model written."""
        return self.models[0].path

    @property
    def input(self) -> TensorSpec:
        return self.models[0].input

    @property
    def output(self) -> TensorSpec:
        return self.models[0].output

    @property
    def agreement(self) -> float | None:
        return self.models[0].agreement

    @property
    def checked_images(self) -> int:
        return self.models[0].checked_images

    @property
    def checked_held_out(self) -> bool:
        return self.models[0].checked_held_out


@quietly
def convert(
    model: Any,
    output_dir: str | os.PathLike[str],
    *,
    calibration_dir: str | os.PathLike[str] | None = None,
    quantize: str | Sequence[str] = "int8",
    io: str | None = None,
    labels: str | os.PathLike[str] | Sequence[str] | None = None,
    preprocessing: Preprocessing = Preprocessing(),
    color_order: str = "rgb",
    fold: bool = True,
    input_size: tuple[int, int] | None = None,
    custom_objects: dict[str, Any] | None = None,
    max_calibration_images: int = 300,
    check_images: int = 100,
    eval_dir: str | os.PathLike[str] | None = None,
    eval_images: int | None = None,
    progress: bool = True,
    greyscale_calibration_ok: bool = False,
    weight_rounding: str = "calibrated",
    embedding: bool = False,
) -> ConversionResult:
    """Convert ``model`` and write ``<stem>_<mode>.tflite`` per mode (labels and metadata inside) to ``output_dir``.

    Args:
        model: ``.keras``/``.h5`` file, SavedModel folder or a built ``keras.Model``; its float input is pixels
            normalised as ``preprocessing`` says.
        output_dir: Created if missing.
        calibration_dir: Folder, glob or ``.npz`` of real images (needed for int8 and for the agreement check).
        quantize: One mode or several of ``float32``, ``float16``, ``dynamic``, ``int8``.
        io: Input/output type of int8 models: ``uint8`` (default), ``int8`` or ``float32``.
        labels: Class names (file or sequence), embedded in each model and copied beside them.
        preprocessing: Resize mode and normalisation the model was trained with.
        color_order: ``"rgb"`` or ``"bgr"``: channel order the model was trained with.
        fold: Fold normalisation and colour order into the graph (raw RGB pixels in); else record them only.
        input_size: ``(H, W)`` for a model with an unknown input size.
        custom_objects: Custom Keras layers/functions needed to load the file.
        max_calibration_images: Calibration sample size (more samples, up to ``check_images``, check agreement).
        eval_dir: Labelled folder (one sub-folder per class) → ``report.json``, ``report.md`` and plots.
        eval_images: Evaluate on at most this many images of ``eval_dir`` (None: all).
        progress: Show a progress bar per long step on stderr (:mod:`edgeml_converters.progress`).
        greyscale_calibration_ok: Calibrate a colour model on greyscale images too (converted to RGB as the
            runtime does); only when it was trained on such images. By default they are refused.
        weight_rounding: int8 weights: ``"calibrated"`` (default) rounds each weight up or down to minimise its
            layer's output error on the calibration images, with bias correction (:mod:`.weight_rounding`);
            ``"nearest"`` keeps TFLite's round-to-nearest.
        embedding: Write an embedding model instead: the classifier cut at the feature vector its last Dense
            layer reads, L2-normalised (:mod:`edgeml_converters.loading.embedding`); no labels. Its check is the
            mean cosine similarity of each mode's embedding with the float model's.

    What TensorFlow, Keras and TFLite print on the way is captured, not shown (:func:`edgeml_converters.tf.quiet`):
    it is logged at DEBUG on the ``edgeml_converters.tf`` logger.

    Raises:
        ConversionError, ModelCompatibilityError, ModelNotFoundError, LabelsError.
    """
    modes = [quantize] if isinstance(quantize, str) else list(quantize)
    bad = [m for m in modes if m not in QUANTIZE_MODES]
    if bad or not modes:
        raise ConversionError(f"Unknown quantization mode(s) {bad or modes}. Choose from: {', '.join(QUANTIZE_MODES)}.")
    if io is not None and io not in IO_TYPES:
        raise ConversionError(f"Unknown --io {io!r}. Choose from: {', '.join(IO_TYPES)}.")
    if weight_rounding not in WEIGHT_ROUNDING:
        raise ConversionError(f"Unknown weight rounding {weight_rounding!r}. Choose from: "
                              f"{', '.join(WEIGHT_ROUNDING)}.")
    if color_order not in ("rgb", "bgr"):
        raise ConversionError(f"color_order must be 'rgb' or 'bgr'. Received: {color_order!r}")
    if "int8" in modes and calibration_dir is None:
        raise ConversionError(
            "int8 quantization needs calibration images: pass --calibration DIR|GLOB|FILE.npz (100-500 real images "
            "like the ones the model will see), or use --quantize float32|float16|dynamic."
        )
    if embedding:
        labels = None
    label_names = read_labels(labels) if labels is not None else None
    if eval_dir is not None:
        from edgeml_converters.report.accuracy import eval_set

        eval_set(eval_dir, label_names, eval_images)  # fail before converting, not after
    with step(f"loading {_display_name(model)}", enabled=progress):
        loaded = loading.load(model, input_size=input_size, custom_objects=custom_objects, embedding=embedding)
    size = loaded.input_shape
    loading.fold_values(loading.Fold(preprocessing.mean, preprocessing.std), size[2])  # 1 or C values each

    samples: list[calibration.Sample] = []
    if calibration_dir is not None:
        samples = calibration.load_samples(calibration_dir, max_calibration_images + check_images, size[2],
                                           greyscale_ok=greyscale_calibration_ok)
    calib, check = samples[:max_calibration_images], samples[max_calibration_images:]
    held_out = len(check) >= check_images // 2
    if not held_out:
        # Too few images left to hold out: check on calibration images (in-sample, so optimistic, and said so)
        # rather than on a handful or not at all.
        check = calib[-check_images:]
    folding = loading.Fold(preprocessing.mean, preprocessing.std, color_order) if fold else None
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ConversionResult(models=[])
    for mode in modes:
        written = write_model(loaded, mode, io if mode == "int8" else None, out_dir, calib=calib,
                              preprocessing=preprocessing, color_order=color_order, fold=folding,
                              labels=label_names, progress=progress, weight_rounding_mode=weight_rounding,
                              split_error=eval_dir is not None)
        result.models.append(written)
        result.files.append(written.path)
        result.notes.extend(written.notes)
        if mode != "float32" and check:
            written.agreement, written.checked_images = _agreement(written, loaded, check, preprocessing,
                                                                   color_order, progress)
            written.checked_held_out = held_out
            log.debug("%s top-1 agrees with the float model on %.1f%% of %d %s", mode, 100 * written.agreement,
                      written.checked_images, "held-out images" if held_out else
                      "calibration images (too few images to hold some out)")
            if written.agreement < 0.9 and loaded.task != "image_embedding":
                note = (f"{mode} agrees with float on only {written.agreement:.0%} of {written.checked_images} "
                        "images: check --mean/--std (or --preset) match the model's training preprocessing and "
                        "that calibration images resemble real input.")
                log.warning(note)
                result.notes.append(note)
    if labels is not None:
        result.labels_path = out_dir / "labels.txt"
        if isinstance(labels, (str, os.PathLike)):
            if Path(labels).resolve() != result.labels_path.resolve():
                shutil.copyfile(labels, result.labels_path)
        else:
            result.labels_path.write_text("\n".join(label_names or ()) + "\n", encoding="utf-8")
        result.files.append(result.labels_path)
    if eval_dir is not None:
        from edgeml_converters.report.accuracy import write_report

        report_files = write_report(result.models, loaded, eval_dir, out_dir, labels=label_names,
                                    preprocessing=preprocessing, color_order=color_order, limit=eval_images,
                                    progress=progress)
        result.report_path = report_files[0]
        result.files.extend(report_files)
    return result


def _agreement(written: WrittenModel, loaded: Any, samples: list[calibration.Sample], prep: Preprocessing,
               color_order: str, show: bool) -> tuple[float, int]:
    pixels = np.stack([calibration.pixels_for(s, loaded.input_shape, prep) for s in samples])
    if loaded.task == "image_embedding":
        return _embedding_agreement(written, loaded, pixels, prep, color_order, show), len(samples)
    from edgeml.inference.classifier import Classifier

    clf = Classifier(written.path)
    float_top = float_top1(loaded.predict, pixels, prep, color_order)
    top = calibration.runtime_top1(clf, bar(pixels, f"{written.mode}: checking agreement", enabled=show,
                                            total=len(pixels)))
    return top1_agreement(top, float_top), len(samples)


def _embedding_agreement(written: WrittenModel, loaded: Any, pixels: np.ndarray, prep: Preprocessing,
                         color_order: str, show: bool) -> float:
    """Return the mean cosine similarity of the written model's embeddings with the float model's."""
    from edgeml.inference.embedder import Embedder
    from edgeml.postprocess.embedding import cosine_similarity
    from edgeml_converters.quantize.calibration import in_color_order, normalize

    reference = np.asarray(loaded.predict(normalize(in_color_order(pixels, color_order), prep)), np.float32)
    with Embedder(written.path) as embedder:
        shown = bar(pixels, f"{written.mode}: checking embeddings", enabled=show, total=len(pixels))
        ours = np.stack([embedder.decode(raw).vector for raw in calibration.runtime_outputs(embedder, shown)])
    return float(np.mean(np.diag(cosine_similarity(ours, reference))))


def _display_name(model: Any) -> str:
    """The model as the user named it: a file or folder name, or a built model's name."""
    if isinstance(model, (str, os.PathLike)):
        return Path(model).name or os.fspath(model)
    return str(getattr(model, "name", None) or "model")
