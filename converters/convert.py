"""Keras model → .tflite in every quantization mode, preprocessing folded in, standard metadata inside.

Modes: ``float32``; ``float16`` (weights stored as float16); ``dynamic`` (int8 weights, float activations); and
``int8`` (full integer, calibrated on real images; ``uint8``, ``int8`` or ``float32`` I/O). With ``fold`` (the
default) the declared normalisation and colour order run inside the model, so every written model takes raw RGB
pixels and an int8 model's uint8 input has scale 1, zero point 0: the runtime copies camera bytes in.

Each model carries standard TFLite metadata (``TFLITE_METADATA``: normalization, labels as an associated file) and
the associated files zip (``labels.txt``, ``edgeml.json``: resolved preprocessing, versions, a content hash). The
converter then checks what it wrote: static ``(1, H, W, C)`` input, no op left in float in an int8 model, top-1
agreement with the float model on held-out images, and with ``eval_dir`` a full report (:mod:`.report`).

The settings are one :class:`~edgeml_converters.config.ConvertConfig`, checked when built; each mode's needs
and converter flags are a row of :data:`~edgeml_converters.config.QUANTIZE_MODES`.
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

from edgeml.errors import InvalidArgumentError
from edgeml.labels import read_labels
from edgeml.preprocess import Preprocessing
from edgeml.tensors import TensorSpec
from edgeml_converters import loading
from edgeml_converters.config import IO_TYPES, PRESETS, QUANTIZE_MODES, WEIGHT_ROUNDING, ConvertConfig, preset
from edgeml_converters.progress import bar, step
from edgeml_converters.quantize import calibration
from edgeml_converters.quantize.agreement import float_top1, top1_agreement
from edgeml_converters.quantize.writer import WrittenModel, write_model
from edgeml_converters.tf import quietly

log = logging.getLogger(__name__)

# The mode table, presets and choices live in the TensorFlow-free edgeml_converters.config (the CLI's source).
__all__ = ["IO_TYPES", "PRESETS", "QUANTIZE_MODES", "WEIGHT_ROUNDING", "ConversionResult", "ConvertConfig", "convert",
           "preset"]


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

    def summary(self) -> list[str]:
        """Return the lines telling a person what was written: per model its mode, file, size, input, check."""
        rows = [_summary_row(m) for m in self.models]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [f"Wrote {len(rows)} model{'s' if len(rows) != 1 else ''} to {self.models[0].path.parent}:"]
        lines += [("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
                  for row in rows]
        if self.report_path is not None:
            lines.append(f"Report: {self.report_path.with_suffix('.md')}")
        return lines


def _summary_row(m: WrittenModel) -> tuple[str, str, str, str, str]:
    inp = m.input
    if inp.quantized:
        how = "" if m.exact_input is None else ", pixels copied in" if m.exact_input else ", requantized per frame"
        tensor = f"{inp.dtype_name} input scale={inp.scale:g} zero_point={inp.zero_point}{how}"
    else:
        tensor = f"{inp.dtype_name} input"
    where = "held-out" if m.checked_held_out else "calibration"
    if m.agreement is not None and m.task == "image_embedding":
        check = f"embedding cosine with float {m.agreement:.4f} (mean of {m.checked_images} {where} images)"
    elif m.agreement is not None:
        check = f"top-1 agrees with float on {m.agreement:.1%} of {m.checked_images} {where} images"
    else:
        check = "" if not QUANTIZE_MODES[m.mode].optimize else "not checked against float (no calibration images)"
    return m.mode, m.path.name, _size(m.path.stat().st_size), tensor, check


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


@quietly
def convert(model: Any, config: ConvertConfig | str | os.PathLike[str], **options: Any) -> ConversionResult:
    """Convert ``model`` as ``config`` says: ``<stem>_<mode>.tflite`` per mode, labels and metadata inside.

    Two spellings of one call; the keywords are :class:`ConvertConfig`'s fields::

        convert("model.keras", ConvertConfig("out", calibration_dir="calib/", quantize=("int8", "float32")))
        convert("model.keras", "out", calibration_dir="calib/", quantize=("int8", "float32"))   # the same

    Args:
        model: ``.keras``/``.h5`` file, SavedModel folder or a built ``keras.Model``; its float input is pixels
            normalised as ``config.preprocessing`` says.
        config: The settings; or the output folder, the other settings then given as ``options``.
        **options: :class:`ConvertConfig` fields other than ``output_dir`` (only when ``config`` is a folder).

    What TensorFlow, Keras and TFLite print on the way is captured, not shown (:func:`edgeml_converters.tf.quiet`):
    it is logged at DEBUG on the ``edgeml_converters.tf`` logger.

    Raises:
        InvalidArgumentError: A setting out of range or not one of its choices (see :class:`ConvertConfig`).
        ConversionError, ModelCompatibilityError, ModelNotFoundError, LabelsError.
    """
    if not isinstance(config, ConvertConfig):
        config = ConvertConfig(config, **options)
    elif options:
        raise InvalidArgumentError(f"Give the settings in the ConvertConfig or as keywords, not both. Received: a "
                                   f"ConvertConfig and the keyword(s) {', '.join(sorted(options))}. Use "
                                   "dataclasses.replace(config, ...) instead.")
    labels = None if config.embedding else config.labels
    label_names = read_labels(labels) if labels is not None else None
    if config.eval_dir is not None:
        from edgeml_converters.report.accuracy import eval_set

        eval_set(config.eval_dir, label_names, config.eval_images)  # fail before converting, not after
    with step(f"loading {_display_name(model)}", enabled=config.progress):
        loaded = loading.load(model, input_size=config.input_size, embedding=config.embedding,
                              custom_objects=dict(config.custom_objects) if config.custom_objects else None)
    prep = config.preprocessing
    loading.fold_values(loading.Fold(prep.mean, prep.std), loaded.input_shape[2])  # 1 or C values each
    calib, check, held_out = _samples(config, loaded.input_shape[2])
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ConversionResult(models=[])
    for mode in config.modes:
        written = write_model(loaded, mode, config, calib, label_names)
        result.models.append(written)
        result.files.append(written.path)
        result.notes.extend(written.notes)
        if mode.optimize and check:  # a float32 model is the float model: nothing to check
            result.notes.extend(_check(written, loaded, check, held_out, config))
    if labels is not None:
        result.labels_path = _write_labels(labels, label_names or (), out_dir)
        result.files.append(result.labels_path)
    if config.eval_dir is not None:
        from edgeml_converters.report.accuracy import write_report

        report_files = write_report(result.models, loaded, config.eval_dir, out_dir, labels=label_names,
                                    preprocessing=prep, color_order=config.color_order, limit=config.eval_images,
                                    progress=config.progress)
        result.report_path = report_files[0]
        result.files.extend(report_files)
    return result


def _samples(config: ConvertConfig, channels: int) -> tuple[list[calibration.Sample], list[calibration.Sample], bool]:
    """Return the calibration samples, the check samples, and whether the check samples are held out."""
    samples: list[calibration.Sample] = []
    limit = config.max_calibration_images
    if config.calibration_dir is not None:
        samples = calibration.load_samples(config.calibration_dir, limit + config.check_images, channels,
                                           greyscale_ok=config.greyscale_calibration_ok)
    calib, check = samples[:limit], samples[limit:]
    held_out = len(check) >= config.check_images // 2
    if not held_out:
        # Too few images left to hold out: check on calibration images (in-sample, so optimistic, and said so)
        # rather than on a handful or not at all.
        check = calib[-config.check_images:]
    return calib, check, held_out


def _check(written: WrittenModel, loaded: Any, check: list[calibration.Sample], held_out: bool,
           config: ConvertConfig) -> list[str]:
    """Measure ``written``'s agreement with the float model on ``check``; return the notes worth showing."""
    written.agreement, written.checked_images = _agreement(written, loaded, check, config.preprocessing,
                                                           config.color_order, config.progress)
    written.checked_held_out = held_out
    log.debug("%s top-1 agrees with the float model on %.1f%% of %d %s", written.mode, 100 * written.agreement,
              written.checked_images, "held-out images" if held_out else
              "calibration images (too few images to hold some out)")
    if written.agreement >= 0.9 or loaded.task == "image_embedding":
        return []
    note = (f"{written.mode} agrees with float on only {written.agreement:.0%} of {written.checked_images} "
            "images: check --mean/--std (or --preset) match the model's training preprocessing and "
            "that calibration images resemble real input.")
    log.warning(note)
    return [note]


def _write_labels(labels: str | os.PathLike[str] | Sequence[str], names: Sequence[str], out_dir: Path) -> Path:
    """Copy (or write) the labels beside the models as ``labels.txt``; return its path."""
    path = out_dir / "labels.txt"
    if isinstance(labels, (str, os.PathLike)):
        if Path(labels).resolve() != path.resolve():
            shutil.copyfile(labels, path)
    else:
        path.write_text("\n".join(names) + "\n", encoding="utf-8")
    return path


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
