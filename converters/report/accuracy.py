"""Accuracy report: the float model vs every converted model on a labelled folder → report.json, report.md, plots.

For each model: top-1 accuracy, top-1 agreement with the float (Keras) model, per-class accuracy, confusion
matrix, file size, op histogram and tensor dtypes (from the flatbuffer), input exactness and host latency. Images
go through the edgeml runtime (:class:`edgeml.Classifier`), the same path a device takes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import ConversionError, LabelsError
from edgeml.image.load import find_images
from edgeml.preprocess import Preprocessing
from edgeml_converters.loading.model import LoadedModel
from edgeml_converters.progress import bar, step
from edgeml_converters.quantize import calibration
from edgeml_converters.quantize.agreement import float_top1, top1_agreement
from edgeml_converters.quantize.writer import WeightsOnly, WrittenModel

log = logging.getLogger(__name__)

__all__ = ["eval_set", "write_report"]

_INDEX_PREFIX = re.compile(r"^(\d+)[_\- ](.*)$")


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.lower())


def eval_set(folder: str | os.PathLike[str], labels: Sequence[str] | None,
             limit: int | None = None) -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    """Return ``(image paths, true class indices int64 (N,), class names)`` of a labelled folder.

    Sub-folder names match labels ignoring case and punctuation, optionally prefixed ``"<index>_"`` (``9_Ankle-boot``
    ↔ ``Ankle boot``). Without labels, sorted sub-folder names are the classes (as Keras's
    ``image_dataset_from_directory`` orders them).

    Raises:
        LabelsError: A sub-folder matches no label.
        ConversionError: No labelled images.
    """
    root = Path(folder)
    paths = find_images(root)
    by_folder: dict[str, list[Path]] = {}
    for p in paths:
        if p.parent != root:
            by_folder.setdefault(p.relative_to(root).parts[0], []).append(p)
    if not by_folder:
        raise ConversionError(f"No labelled images in {str(root)!r}: put each class's images in a sub-folder "
                              "named after its label (e.g. eval/cat/*.jpg, eval/dog/*.jpg).")
    names = tuple(labels) if labels is not None else tuple(sorted(by_folder))
    lookup = {_norm(n): i for i, n in enumerate(names)}
    classes: dict[str, int] = {}
    for folder_name in by_folder:
        m = _INDEX_PREFIX.match(folder_name)
        index = lookup.get(_norm(folder_name))
        if index is None and m and _norm(m.group(2)) in lookup:
            index = lookup[_norm(m.group(2))]
        if index is not None:
            classes[folder_name] = index
    unmatched = sorted(set(by_folder) - set(classes))
    if unmatched:
        raise LabelsError(
            f"Eval folder {str(root)!r} has class folders that match no label: {unmatched[:5]}"
            f"{' ...' if len(unmatched) > 5 else ''}; labels are {list(names[:5])}{' ...' if len(names) > 5 else ''}"
            ". Name each sub-folder after its label (or '<index>_<label>'), or pass the matching --labels file."
        )
    picked = sorted(calibration.pick_images(root, limit or len(paths)))
    picked = [p for p in picked if p.parent != root]
    truth = np.array([classes[p.relative_to(root).parts[0]] for p in picked], dtype=np.int64)
    return picked, truth, names


def write_report(models: Sequence[WrittenModel], loaded: LoadedModel, eval_dir: str | os.PathLike[str],
                 out_dir: Path, *, labels: Sequence[str] | None, preprocessing: Preprocessing, color_order: str,
                 limit: int | None = None, progress: bool = True) -> list[Path]:
    """Evaluate ``models`` and the float model on ``eval_dir``; write the report into ``out_dir``.

    Returns:
        The files written: ``report.json`` first, then ``report.md`` and the plot PNGs.
    """
    from edgeml.inference.classifier import Classifier

    paths, truth, names = eval_set(eval_dir, labels, limit)
    log.debug("Evaluating on %d images from %s", len(paths), eval_dir)
    pixels = np.stack([calibration.pixels_for(p, loaded.input_shape, preprocessing)
                       for p in bar(paths, "eval: reading images", enabled=progress)])
    with step("eval: float model", enabled=progress):
        float_top = float_top1(loaded.predict, pixels, preprocessing, color_order)
    if len(names) != int(np.max(float_top)) + 1 and labels is None and int(np.max(float_top)) >= len(names):
        raise LabelsError(f"The model predicts class {int(np.max(float_top))} but {eval_dir!r} has only "
                          f"{len(names)} class folders. Pass --labels so folders can be matched to outputs.")
    entries = [_entry("float (Keras)", None, float_top, float_top, truth, len(names))]
    for m in models:
        clf = Classifier(m.path)
        outputs = calibration.runtime_outputs(clf, bar(pixels, f"eval: {m.mode}", enabled=progress,
                                                       total=len(pixels)))
        top = np.argmax(outputs, axis=-1)
        entry = _entry(m.path.name, m, top, float_top, truth, len(names))
        entry["disagreements_tied"] = tied_disagreements(outputs, float_top)
        entry["latency_ms"] = _latency(clf, pixels[0])
        if m.weights_only is not None:
            entry["agreement_weights_only"] = top1_agreement(
                _float_graph_top(m.weights_only, bar(pixels, f"eval: {m.mode} weights only", enabled=progress,
                                                     total=len(pixels))), float_top)
            entry["weights_only_layers"] = {"int8": m.weights_only.layers, "left_float": m.weights_only.left_float}
        entries.append(entry)
    report = {
        "eval_dir": str(eval_dir),
        "images": len(paths),
        "classes": list(names),
        "preprocessing": {**preprocessing.to_dict(), "color_order": color_order},
        "models": entries,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    from edgeml_converters.report.plots import plot_report

    with step("eval: plots", enabled=progress):
        plots = plot_report(report, out_dir)
    md_path.write_text(render_markdown(report, [p.name for p in plots]), encoding="utf-8")
    return [json_path, md_path, *plots]


def _entry(name: str, m: WrittenModel | None, top: np.ndarray, float_top: np.ndarray, truth: np.ndarray,
           classes: int) -> dict[str, Any]:
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth, np.clip(top, 0, classes - 1)), 1)
    per_class = [float(confusion[c, c] / confusion[c].sum()) if confusion[c].sum() else None for c in range(classes)]
    entry: dict[str, Any] = {
        "name": name,
        "top1_accuracy": float(np.mean(top == truth)),
        "agreement_with_float": top1_agreement(top, float_top),
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
    }
    if m is not None:
        entry.update({
            "path": str(m.path), "quantize": m.mode, "io": m.io, "file_bytes": m.path.stat().st_size,
            "input": m.input.to_dict(), "output": m.output.to_dict(), "exact_input": m.exact_input,
            "ops": m.graph.ops, "tensor_dtypes": m.graph.tensor_dtypes, "content_sha256": m.content_sha256,
        })
    return entry


def tied_disagreements(outputs: np.ndarray, float_top: np.ndarray) -> int:
    """Count images where the model's top-1 differs from float's only because of a tie in its output.

    The model scores the float top-1 class exactly as high as the class it reports (argmax takes the lower
    index): at a quantized output's resolution (1/256 for a uint8 softmax) the two classes are indistinguishable.

    Args:
        outputs: Raw output tensors ``(N, classes)``, as the runtime reads them.
        float_top: The float model's top-1 class of each image.
    """
    top = np.argmax(outputs, axis=-1)
    tied = outputs[np.arange(len(outputs)), float_top] == outputs.max(axis=-1)
    return int(np.count_nonzero(tied & (top != float_top)))


def _float_graph_top(twin: WeightsOnly, pixels: Iterable[np.ndarray]) -> np.ndarray:
    """Top-1 class of each image through ``twin`` (float activations, int8 weights)."""
    from edgeml.interpreter import open_interpreter
    from edgeml.model import ModelFile

    interpreter, _ = open_interpreter(ModelFile.from_bytes(twin.model, "weights-only twin"))
    index, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    top = []
    for px in pixels:
        interpreter.set_tensor(index, twin.inputs(px))
        interpreter.invoke()
        top.append(int(np.argmax(interpreter.get_tensor(out))))
    return np.array(top, dtype=np.int64)


def _latency(clf: Any, pixels: np.ndarray, runs: int = 30) -> float:
    """Median host invoke time (ms) of one prepared input; a figure for comparison, not a device benchmark."""
    tensor = clf.preprocess(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    for _ in range(3):
        clf.invoke(tensor)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        clf.invoke(tensor)
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1000, 4)


def render_markdown(report: dict[str, Any], plots: Sequence[str]) -> str:
    """Return ``report.md``: one table over all models, per-class accuracy and the plots."""
    lines = [f"# Conversion report\n\n{report['images']} images from `{report['eval_dir']}`, "
             f"{len(report['classes'])} classes.\n",
             "| model | top-1 | Δ vs float (points) | agreement with float | size (KiB) | input | exact input "
             "| host latency (ms) |", "|---|---|---|---|---|---|---|---|"]
    base = report["models"][0]["top1_accuracy"]
    for e in report["models"]:
        inp = e.get("input")
        spec = f"{inp['dtype']} scale={inp['scale']:g} zp={inp['zero_point']}" if inp else "float"
        size = f"{e['file_bytes'] / 1024:.1f}" if "file_bytes" in e else "—"
        lines.append(f"| {e['name']} | {e['top1_accuracy']:.2%} | {100 * (e['top1_accuracy'] - base):+.2f} "
                     f"| {e['agreement_with_float']:.2%} | {size} | {spec} | {e.get('exact_input', '—')} "
                     f"| {e.get('latency_ms', '—')} |")
    split = [e for e in report["models"] if "agreement_weights_only" in e]
    if split:
        lines += ["", "## Where int8 disagrees with float", "",
                  "The float graph run with the int8 model's weights and biases (activations float) shows what the "
                  "weights cost; the rest of the disagreement is activation quantization. Output ties: images the "
                  "int8 model scores float's top-1 exactly as high as the class it reports (its output's "
                  "resolution cannot tell them apart; the lower class index wins).", "",
                  "| model | disagreement | from weights | from activations | output ties |", "|---|---|---|---|---|"]
        for e in split:
            total, weights = 1 - e["agreement_with_float"], 1 - e["agreement_weights_only"]
            tied = e["disagreements_tied"] / report["images"]
            lines.append(f"| {e['name']} | {total:.2%} | {weights:.2%} | {total - weights:+.2%} | {tied:.2%} |")
    lines += ["", "## Per-class top-1 accuracy", "",
              "| class | " + " | ".join(e["name"] for e in report["models"]) + " |",
              "|---|" + "---|" * len(report["models"])]
    for c, name in enumerate(report["classes"]):
        cells = [f"{e['per_class_accuracy'][c]:.1%}" if e["per_class_accuracy"][c] is not None else "—"
                 for e in report["models"]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Ops and tensor types", ""]
    for e in report["models"][1:]:
        ops = ", ".join(f"{k}×{v}" for k, v in e["ops"].items())
        dtypes = ", ".join(f"{k}×{v}" for k, v in e["tensor_dtypes"].items())
        lines.append(f"- **{e['name']}**: ops {ops}; tensors {dtypes}")
    lines += ["", *(f"![{p}]({p})" for p in plots), ""]
    return "\n".join(lines)
