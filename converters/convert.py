"""Keras model → .tflite: full int8 with uint8 input/output, calibrated on real images; or float32.

The written model carries its labels and resolved preprocessing (see :mod:`edgeml.metadata`), and the converter
checks what it wrote: the input is ``(1, H, W, C)`` uint8 whose quantization cancels the normalisation (so the
runtime copies pixel bytes in), and the int8 model's top-1 agrees with the float model on held-out images.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edgeml import metadata, preprocess
from edgeml.errors import ConversionError, ModelCompatibilityError
from edgeml.labels import read_labels
from edgeml.preprocess import Preprocessing
from edgeml.tensors import TensorSpec
from edgeml_converters import calibration, keras_io

log = logging.getLogger(__name__)

Quantize = Literal["int8", "float32"]


@dataclass
class ConversionResult:
    """What :func:`convert` wrote and what it checked."""

    model_path: Path
    input: TensorSpec
    output: TensorSpec
    labels_path: Path | None = None
    agreement: float | None = None  # top-1 agreement int8 vs float on held-out calibration images
    checked_images: int = 0
    notes: list[str] = field(default_factory=list)


def convert(
    model: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    calibration_dir: str | os.PathLike[str] | None = None,
    quantize: Quantize = "int8",
    labels: str | os.PathLike[str] | None = None,
    preprocessing: Preprocessing = Preprocessing(),
    max_calibration_images: int = 300,
    check_images: int = 100,
    progress: bool = True,
) -> ConversionResult:
    """Convert ``model`` and write ``<stem>_<quantize>.tflite`` (with embedded labels) into ``output_dir``.

    Args:
        model: ``.keras``/``.h5`` file or SavedModel folder; its input is ``(None, H, W, C)`` real pixels
            normalised as ``preprocessing`` says (keep a ``Rescaling`` layer inside the model and the defaults).
        output_dir: Created if missing.
        calibration_dir: Real images (optionally one sub-folder per class); required for int8.
        quantize: ``"int8"`` (full integer, uint8 input/output) or ``"float32"``.
        labels: Class names file, embedded in the model and copied beside it.
        preprocessing: How pixels become model input; recorded in the model.
        max_calibration_images: Calibration sample size (the rest of the folder, up to ``check_images``, is
            used for the agreement check).

    Raises:
        ConversionError, ModelCompatibilityError, ModelNotFoundError, LabelsError.
    """
    if quantize not in ("int8", "float32"):
        raise ValueError(f"quantize must be 'int8' or 'float32'. Received: {quantize!r}")
    if quantize == "int8" and calibration_dir is None:
        raise ConversionError(
            "int8 quantization needs calibration images: pass --calibration DIR (100-500 real images like the "
            "ones the model will see), or use --quantize float32."
        )
    label_names = read_labels(labels) if labels is not None else None
    loaded = keras_io.load(model)
    size = loaded.input_shape

    paths: list[Path] = []
    if calibration_dir is not None:
        paths = calibration.pick_images(calibration_dir, max_calibration_images + check_images)
    calib_paths, check_paths = paths[:max_calibration_images], paths[max_calibration_images:]
    if quantize == "int8" and len(check_paths) < check_images // 2 and len(calib_paths) > 2 * check_images:
        # A small folder: check on images also used for calibration rather than not at all.
        check_paths = calib_paths[-check_images:]

    import tensorflow as tf

    converter = loaded.make_converter()
    if quantize == "int8":
        log.info("Calibrating on %d images from %s", len(calib_paths), calibration_dir)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: calibration.representative_dataset(
            calib_paths, size, preprocessing, progress
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    try:
        flatbuffer = converter.convert()
    except Exception as exc:  # the converter raises ConverterError/ValueError/RuntimeError for unsupported graphs
        raise ConversionError(
            f"TensorFlow Lite could not convert {str(model)!r}: {str(exc).strip().splitlines()[0]}. "
            "Ops outside TFLite's int8 builtins cannot be fully quantized; try --quantize float32 to see "
            "whether the model converts at all."
        ) from exc

    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(model).stem if Path(model).is_file() else Path(model).name
    model_path = out_dir / f"{stem}_{quantize}.tflite"
    files = {
        metadata.METADATA_FILE: metadata.write_json({
            "task": "image_classification",
            "quantization": quantize,
            "preprocessing": preprocessing.to_dict(),
            "output_activation": loaded.output_activation,
            "source": Path(model).name,
            "calibration_images": len(calib_paths),
        })
    }
    if label_names is not None:
        files[metadata.LABELS_FILE] = ("\n".join(label_names) + "\n").encode("utf-8")
    model_path.write_bytes(metadata.embed(flatbuffer, files))

    labels_path = None
    if labels is not None:
        labels_path = out_dir / "labels.txt"
        if Path(labels).resolve() != labels_path.resolve():
            shutil.copyfile(labels, labels_path)

    result = _verify(model_path, loaded, size, preprocessing, quantize, label_names)
    result.labels_path = labels_path
    if quantize == "int8" and check_paths:
        result.agreement, result.checked_images = _agreement(result, loaded, check_paths, preprocessing)
        log.info("int8 top-1 agrees with the float model on %.1f%% of %d held-out images",
                 100 * result.agreement, result.checked_images)
        if result.agreement < 0.9:
            note = (f"int8 agrees with float on only {result.agreement:.0%} of {result.checked_images} images: "
                    "check --mean/--std match the model's training preprocessing and that calibration images "
                    "resemble real input.")
            log.warning(note)
            result.notes.append(note)
    return result


def _verify(model_path: Path, loaded: Any, size: tuple[int, int, int], prep: Preprocessing, quantize: str,
            labels: tuple[str, ...] | None) -> ConversionResult:
    from edgeml.interpreter import open_interpreter

    interpreter, _ = open_interpreter(model_path)
    inp = TensorSpec.from_details(interpreter.get_input_details()[0])
    out = TensorSpec.from_details(interpreter.get_output_details()[0])
    if inp.shape != (1, *size):
        raise ConversionError(f"Converted input shape {inp.shape} is not the static (1, {size}) asked for.")
    if quantize == "int8" and (inp.dtype != np.uint8 or out.dtype != np.uint8):
        raise ConversionError(f"Converted model has {inp.dtype_name} input and {out.dtype_name} output; "
                              "expected uint8 for both.")
    if labels is not None and len(labels) != int(np.prod(out.shape)):
        raise ModelCompatibilityError(
            f"{len(labels)} labels given but the model has {int(np.prod(out.shape))} outputs. "
            "Pass the labels file that matches the model's classes, one per line in output order."
        )
    result = ConversionResult(model_path, inp, out)
    if quantize == "int8" and preprocess._identity_offset(inp, prep, size[2]) != 0:
        note = (f"Input quantization (scale={inp.scale:.6g}, zero_point={inp.zero_point}) does not cancel the "
                "normalisation; the runtime will requantize each frame (slower, still correct).")
        log.warning(note)
        result.notes.append(note)
    return result


def _agreement(result: ConversionResult, loaded: Any, paths: list[Path], prep: Preprocessing) -> tuple[float, int]:
    from edgeml.classifier import Classifier

    clf = Classifier(result.model_path)
    pixels = np.stack([calibration.pixels_for(p, loaded.input_shape, prep) for p in paths])
    float_top = np.argmax(loaded.predict(calibration.normalize(pixels, prep)), axis=-1)
    # The pixels are already resized: feed them as the input tensor (clf.scores would resize, and with
    # center_crop crop a second time, comparing the int8 model on different images).
    int8_top = np.array([int(np.argmax(clf.invoke(preprocess.to_input_tensor(px, clf.input, prep)))) for px in pixels])
    return float(np.mean(float_top == int8_top)), len(paths)
