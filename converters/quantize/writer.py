"""Convert one quantization mode, check the graph, and write the .tflite with its metadata (used by convert)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml import preprocess
from edgeml._version import __version__
from edgeml.errors import ConversionError, ModelCompatibilityError
from edgeml.model import metadata
from edgeml.preprocess import Preprocessing
from edgeml.tensors import TensorSpec
from edgeml_converters.loading.model import Fold, LoadedModel, fold_values
from edgeml_converters.progress import bar, step
from edgeml_converters.quantize import calibration
from edgeml_converters.quantize import rounding as weight_rounding
from edgeml_converters.tf import quiet
from edgeml_converters.tflite import graph as report_graph
from edgeml_converters.tflite import metadata as tflite_metadata

log = logging.getLogger(__name__)

__all__ = ["WeightsOnly", "WrittenModel", "explain_failure", "write_model"]


@dataclass(frozen=True)
class WeightsOnly:
    """The float graph carrying an int8 model's weights and biases (:func:`.weight_rounding.weights_only`).

    Its disagreement with float is what the int8 weights cost; the rest of the int8 model's is activation
    quantization. ``prep`` and ``color_order`` describe the graph's float input.
    """

    model: bytes
    prep: Preprocessing
    color_order: str
    layers: int
    left_float: int

    def inputs(self, pixels: np.ndarray) -> np.ndarray:
        """Return the graph's float32 ``(1, H, W, C)`` input for uint8 RGB ``pixels`` ``(H, W, C)``."""
        return calibration.normalize(calibration.in_color_order(pixels, self.color_order), self.prep)[None]


@dataclass
class WrittenModel:
    """One model file :func:`write_model` wrote.

    Attributes:
        path: The .tflite.
        mode: ``float32``, ``float16``, ``dynamic`` or ``int8``; ``io``: its input/output type name.
        input, output: The tensors as the runtime sees them.
        exact_input: For integer inputs, whether the runtime can copy pixel bytes in unchanged (or with the
            int8 bit flip); None for float inputs.
        content_sha256: Hash of the converter's flatbuffer (before metadata), recorded inside the model.
        agreement: Top-1 agreement with the float model on ``checked_images`` images, when checked: held-out
            images when ``checked_held_out``, else calibration images (a folder too small to hold some out).
            For an embedding model (``task == "image_embedding"``): the mean cosine similarity with float.
        rounding: What calibrated weight rounding changed (int8 models with ``weight_rounding="calibrated"``).
        weights_only: For int8 models written with ``split_error``, the float graph with these int8 weights.
    """

    path: Path
    mode: str
    io: str
    input: TensorSpec
    output: TensorSpec
    exact_input: bool | None
    content_sha256: str
    graph: report_graph.GraphSummary
    agreement: float | None = None
    checked_images: int = 0
    checked_held_out: bool = False
    notes: list[str] = field(default_factory=list)
    rounding: weight_rounding.RoundingStats | None = None
    weights_only: WeightsOnly | None = None
    task: str = "image_classification"


def write_model(loaded: LoadedModel, mode: str, io: str | None, out_dir: Path, *, calib: Sequence[Any],
                preprocessing: Preprocessing, color_order: str, fold: Fold | None,
                labels: tuple[str, ...] | None, progress: bool,
                weight_rounding_mode: str = "calibrated", split_error: bool = False) -> WrittenModel:
    """Convert ``loaded`` in ``mode`` and write ``out_dir/<name>_<mode>.tflite``.

    ``weight_rounding_mode`` (int8 only): ``"calibrated"`` re-rounds the int8 weights to minimise each layer's
    output error on the calibration images (:mod:`.weight_rounding`); ``"nearest"`` keeps the converter's.
    ``split_error`` (int8 only): also build :attr:`WrittenModel.weights_only`, for the report.

    Raises:
        ConversionError: The converter fails, or an int8 model keeps float ops (named in the message).
        ModelCompatibilityError: The labels do not match the model's outputs.
    """
    from edgeml_converters.tf import import_tensorflow

    tf = import_tensorflow()
    size = loaded.input_shape
    io = io or ("uint8" if mode == "int8" else "float32")
    # An integer input folds a uniform (p - mean) / std with an integer mean into its own quantization
    # (scale 1/std, zero point mean): exact, and no normalisation ops whose int8 outputs would round the pixels.
    in_quantization = mode == "int8" and io != "float32" and fold is not None and folds_into_quantization(fold, size[2])
    graph_fold = None if in_quantization else fold
    # What the converted graph itself expects: raw RGB pixels when the preprocessing is folded into the graph.
    model_prep = Preprocessing.from_dict({**preprocessing.to_dict(), "mean": [0.0], "std": [1.0]}) if graph_fold \
        else preprocessing
    model_order = "rgb" if fold else color_order
    with step(f"{mode}: converting", enabled=progress), quiet() as native:
        converter = loaded.make_converter(graph_fold)
        if mode in ("float16", "dynamic", "int8"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode == "int8":
            log.debug("Calibrating on %d images", len(calib))
            converter.representative_dataset = lambda: calibration.representative_dataset(
                calib, size, model_prep, progress, model_order, desc=f"{mode}: calibrating")
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = getattr(tf, io)
        try:
            flatbuffer = converter.convert()
        except Exception as exc:  # the converter raises ConverterError/ValueError/RuntimeError for unsupported graphs
            raise explain_failure(loaded.name, mode, exc, native.text()) from exc
    rounding: weight_rounding.RoundingStats | None = None
    twin: WeightsOnly | None = None
    if mode == "int8" and (weight_rounding_mode == "calibrated" or split_error):
        calibrated = weight_rounding_mode == "calibrated"
        with step(f"{mode}: rounding weights" if calibrated else f"{mode}: weights-only graph",
                  enabled=progress), quiet():
            reference = loaded.make_converter(graph_fold).convert()  # the same graph in float32
            if calibrated:
                flatbuffer, rounding = _calibrated_rounding(loaded, reference, flatbuffer, calib, model_prep,
                                                            model_order, progress)
            if split_error:
                twin_model, layers, left_float = weight_rounding.weights_only(flatbuffer, reference)
                twin = WeightsOnly(twin_model, model_prep, model_order, layers, left_float)

    graph = report_graph.summarize(flatbuffer)
    if mode == "int8":
        leftovers = report_graph.float_ops(graph)
        if leftovers:
            raise ConversionError(
                f"{loaded.name!r} has op(s) without an int8 kernel: {', '.join(leftovers)} (TFLite would run "
                "them in float between DEQUANTIZE/QUANTIZE, so the model is not fully int8 nor Edge-TPU-ready). "
                "Use --quantize dynamic, or swap the layer producing them for int8-friendly ops."
            )
    digest = hashlib.sha256(flatbuffer).hexdigest()
    info = _info(loaded, mode, io, model_prep, model_order, preprocessing, color_order, fold, len(calib), digest,
                 graph, tf)
    info["fold"] = "input_quantization" if in_quantization else "graph" if fold is not None else None
    if mode == "int8":
        info["weight_rounding"] = {"mode": weight_rounding_mode, **(rounding.to_dict() if rounding else {})}
    embedding = loaded.task == "image_embedding"
    if embedding:
        info["embedding"] = embedding_info(flatbuffer)
        info["output_activation"] = None
        labels = None
    kind = "Image embedding (L2-normalised feature vector)" if embedding else "Image classifier"
    std_meta = tflite_metadata.build_metadata(tflite_metadata.ImageClassifierMetadata(
        name=loaded.name, description=f"{kind} ({mode}, {io} I/O) converted by edgeml {__version__}.",
        version=digest[:16], width=size[1], height=size[0], channels=size[2], mean=model_prep.mean,
        std=model_prep.std, labels_file=metadata.LABELS_FILE if labels is not None else None,
        **(dict(output_name="embedding", output_description="L2-normalised feature vector; compare two with "
                "their dot product (cosine similarity).") if embedding else {}),
    ))
    files = {metadata.METADATA_FILE: metadata.write_json(info)}
    if labels is not None:
        files[metadata.LABELS_FILE] = ("\n".join(labels) + "\n").encode("utf-8")
    path = out_dir / f"{loaded.name}_{mode}.tflite"
    path.write_bytes(metadata.embed(tflite_metadata.add_metadata(flatbuffer, std_meta), files))
    written = _verify(path, mode, io, size, model_prep, labels, digest, graph)
    written.rounding, written.weights_only, written.task = rounding, twin, loaded.task
    return written


def embedding_info(flatbuffer: bytes) -> dict[str, Any]:
    """Return what ``edgeml.json`` records of an embedding output: dimension, dtype, quantization, normalised."""
    from edgeml.model.graph import parse_graph

    main = parse_graph(flatbuffer).main
    out = main.tensors[main.outputs[0]]
    q = out.quantization
    producer = {t: op for op in main.operators for t in op.outputs}
    op = producer.get(out.index)
    if op is not None and op.name == "QUANTIZE":  # an int8 → uint8 output
        op = producer.get(op.inputs[0])
    normalized = op is not None and op.name == "L2_NORMALIZATION"
    return {"dimension": int(np.prod(out.shape)), "dtype": out.dtype, "normalized": normalized,
            "scale": q.scale[0] if q else None, "zero_point": q.zero_point[0] if q else None}


def folds_into_quantization(fold: Fold, channels: int) -> bool:
    """Return True when ``fold`` is one ``(p - mean) / std`` for every channel, ``mean`` an integer 0..255, RGB.

    Raises:
        ConversionError: ``fold.mean`` or ``fold.std`` has neither 1 nor ``channels`` values.
    """
    mean, std = fold_values(fold, channels)
    return (fold.color_order == "rgb" or channels == 1) and bool(
        np.all(mean == mean[0]) and np.all(std == std[0]) and std[0] > 0 and float(mean[0]).is_integer()
        and 0 <= mean[0] <= 255)


# Calibration images whose layer inputs set the rounding: the covariances settle well before this.
_ROUNDING_IMAGES = 100


def _calibrated_rounding(loaded: LoadedModel, reference: bytes, flatbuffer: bytes, calib: Sequence[Any],
                         model_prep: Preprocessing, model_order: str, progress: bool = False
                         ) -> tuple[bytes, weight_rounding.RoundingStats]:
    """Re-round ``flatbuffer``'s int8 weights with layer inputs from ``reference``, the same graph in float32."""
    samples = calib[::max(1, len(calib) // _ROUNDING_IMAGES)]
    inputs = (x[0] for x in calibration.representative_dataset(samples, loaded.input_shape, model_prep, False,
                                                                 model_order))
    shown = bar(inputs, "int8: layer inputs", enabled=progress, total=len(samples))
    return weight_rounding.refine(flatbuffer, reference, shown, progress=progress)


def _info(loaded: LoadedModel, mode: str, io: str, model_prep: Preprocessing, model_order: str,
          declared: Preprocessing, color_order: str, fold: Fold | None, calib_count: int, digest: str,
          graph: report_graph.GraphSummary, tf: Any) -> dict[str, Any]:
    import keras

    quant = graph.input_quantization
    return {
        "task": loaded.task,
        "quantization": mode,
        "io": io,
        "preprocessing": model_prep.to_dict(),
        "color_order": model_order if loaded.input_shape[2] == 3 else None,
        "declared_preprocessing": {**declared.to_dict(),
                                   "color_order": color_order if loaded.input_shape[2] == 3 else None},
        "folded": fold is not None,
        "input_quantization": {"scale": quant[0], "zero_point": quant[1]} if quant else None,
        "output_activation": loaded.output_activation,
        "source": loaded.name,
        "calibration_images": calib_count if mode == "int8" else 0,
        "content_sha256": digest,
        "versions": {"edgeml": __version__, "tensorflow": tf.__version__, "keras": keras.__version__},
    }


def _verify(path: Path, mode: str, io: str, size: tuple[int, int, int], prep: Preprocessing,
            labels: tuple[str, ...] | None, digest: str, graph: report_graph.GraphSummary) -> WrittenModel:
    from edgeml.interpreter import open_interpreter

    interpreter, _ = open_interpreter(path)
    inp = TensorSpec.from_details(interpreter.get_input_details()[0])
    out = TensorSpec.from_details(interpreter.get_output_details()[0])
    if inp.shape != (1, *size):
        raise ConversionError(f"Converted input shape {inp.shape} is not the static (1, {size}) asked for.")
    if inp.dtype != np.dtype(io) or out.dtype != np.dtype(io):
        raise ConversionError(f"Converted {mode} model has {inp.dtype_name} input and {out.dtype_name} output; "
                              f"expected {io} for both.")
    if labels is not None and len(labels) != int(np.prod(out.shape)):
        raise ModelCompatibilityError(
            f"{len(labels)} labels given but the model has {int(np.prod(out.shape))} outputs. "
            "Pass the labels file that matches the model's classes, one per line in output order."
        )
    written = WrittenModel(path, mode, io, inp, out, None, digest, graph)
    if inp.quantized:
        offset = preprocess._identity_offset(inp, prep, size[2])
        written.exact_input = offset == {"uint8": 0, "int8": -128}.get(io)
        if not written.exact_input:
            note = (f"{path.name}: input quantization (scale={inp.scale:.6g}, zero_point={inp.zero_point}) does not "
                    "cancel the normalisation; the runtime will requantize each frame (slower, still correct).")
            log.warning(note)
            written.notes.append(note)
    return written


_SELECT_OPS = re.compile(r"TF Select ops: ([^\n]+)")


def explain_failure(model_name: str, mode: str, exc: Exception, native_output: str = "") -> ConversionError:
    """Return a one-line :class:`ConversionError` for a TFLite converter failure, naming the ops involved.

    ``native_output`` is what TensorFlow printed during the conversion (:func:`edgeml_converters.tf.quiet`): the
    converter sometimes writes the reason there and raises with a generic message.
    """
    text = str(exc)
    if not _SELECT_OPS.search(text) and not any("error" in line.lower() for line in text.splitlines()):
        text = f"{text}\n{native_output}"
    ops = _SELECT_OPS.search(text)
    if ops:
        return ConversionError(
            f"TensorFlow Lite has no builtin kernel for op(s) {ops.group(1).strip()} in {model_name!r} "
            f"(--quantize {mode}). Swap the layer that uses them for one built from TFLite builtins (e.g. "
            "GELU→ReLU/hard-swish, custom math→Keras layers), or keep it out of the exported model."
        )
    own = str(exc).strip()
    fallback = own.splitlines()[0][:200] if own else type(exc).__name__
    first = next((line for line in text.strip().splitlines() if "error" in line.lower()), fallback)
    return ConversionError(
        f"TensorFlow Lite could not convert {model_name!r} with --quantize {mode}: {first.strip()}. Try "
        "--quantize float32 to see whether the model converts at all, or --quantize dynamic."
    )
