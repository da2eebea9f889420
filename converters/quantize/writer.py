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
from edgeml_converters.config import ConvertConfig, QuantizeMode
from edgeml_converters.loading.model import Fold, LoadedModel, fold_values
from edgeml_converters.progress import bar, step
from edgeml_converters.quantize import calibration
from edgeml_converters.quantize import rounding as weight_rounding
from edgeml_converters.tf import quiet
from edgeml_converters.tflite import graph as report_graph
from edgeml_converters.tflite import metadata as tflite_metadata

log = logging.getLogger(__name__)

__all__ = ["GraphInput", "WeightsOnly", "WrittenModel", "explain_failure", "write_model"]


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

    def to_dict(self) -> dict[str, Any]:
        """Return what ``edgeml convert --json`` prints of this model (JSON-friendly; ``bytes``: the file size)."""
        return {"path": str(self.path), "quantize": self.mode, "io": self.io, "bytes": self.path.stat().st_size,
                "input": self.input.to_dict(), "exact_input": self.exact_input, "agreement": self.agreement,
                "checked_images": self.checked_images, "checked_held_out": self.checked_held_out,
                "content_sha256": self.content_sha256}


@dataclass(frozen=True)
class GraphInput:
    """What the converted graph takes: its own preprocessing and colour order once folding is decided.

    Attributes:
        prep: The graph's float input normalisation (mean 0, std 1 when folded into the graph).
        color_order: ``"rgb"`` when the declared order is folded in, else the declared one.
        fold: What is folded into the graph as ops (None: nothing, or all of it in the input quantization).
        in_quantization: The normalisation is the integer input's own quantization (scale 1/std, zero point mean).
    """

    prep: Preprocessing
    color_order: str
    fold: Fold | None
    in_quantization: bool

    @classmethod
    def plan(cls, mode: QuantizeMode, io: str, config: ConvertConfig, channels: int) -> GraphInput:
        """Decide how ``config``'s preprocessing reaches a ``mode`` model with ``io`` input of ``channels``."""
        declared = config.preprocessing
        fold = Fold(declared.mean, declared.std, config.color_order) if config.fold else None
        # An integer input folds a uniform (p - mean) / std with an integer mean into its own quantization
        # (scale 1/std, zero point mean): exact, and no normalisation ops whose int8 outputs would round the pixels.
        in_quantization = (mode.full_integer and io != "float32" and fold is not None
                           and folds_into_quantization(fold, channels))
        graph_fold = None if in_quantization else fold
        prep = (Preprocessing.from_dict({**declared.to_dict(), "mean": [0.0], "std": [1.0]}) if graph_fold
                else declared)
        return cls(prep, "rgb" if fold else config.color_order, graph_fold, in_quantization)


def write_model(loaded: LoadedModel, mode: QuantizeMode, config: ConvertConfig, calib: Sequence[Any],
                labels: tuple[str, ...] | None) -> WrittenModel:
    """Convert ``loaded`` in ``mode`` as ``config`` says and write ``config.output_dir/<name>_<mode>.tflite``.

    ``calib`` are the calibration samples (full-integer modes); ``labels`` the class names (None: no labels).
    With ``config.weight_rounding == "calibrated"`` an int8 model's weights are re-rounded to minimise each
    layer's output error on them (:mod:`.rounding`); with ``config.eval_dir`` the int8 model also gets
    :attr:`WrittenModel.weights_only`, for the report.

    Raises:
        ConversionError: The converter fails, or an int8 model keeps float ops (named in the message).
        ModelCompatibilityError: The labels do not match the model's outputs.
    """
    from edgeml_converters.tf import import_tensorflow

    tf = import_tensorflow()
    size = loaded.input_shape
    io = mode.io_for(config.io)
    graph_input = GraphInput.plan(mode, io, config, size[2])
    flatbuffer = _convert(loaded, mode, io, graph_input, calib, config.progress, tf)
    rounding: weight_rounding.RoundingStats | None = None
    twin: WeightsOnly | None = None
    if mode.full_integer and (config.weight_rounding == "calibrated" or config.eval_dir is not None):
        flatbuffer, rounding, twin = _refine_weights(loaded, mode, flatbuffer, graph_input, calib, config)
    graph = report_graph.summarize(flatbuffer)
    if mode.full_integer:
        leftovers = report_graph.float_ops(graph)
        if leftovers:
            raise ConversionError(
                f"{loaded.name!r} has op(s) without an int8 kernel: {', '.join(leftovers)} (TFLite would run "
                "them in float between DEQUANTIZE/QUANTIZE, so the model is not fully int8 nor Edge-TPU-ready). "
                "Use --quantize dynamic, or swap the layer producing them for int8-friendly ops."
            )
    digest = hashlib.sha256(flatbuffer).hexdigest()
    info = _info(loaded, mode, io, graph_input, config, len(calib), digest, graph, tf)
    if mode.full_integer:
        info["weight_rounding"] = {"mode": config.weight_rounding, **(rounding.to_dict() if rounding else {})}
    if loaded.task == "image_embedding":
        info["embedding"] = embedding_info(flatbuffer)
        info["output_activation"] = None
        labels = None
    files = {metadata.METADATA_FILE: metadata.write_json(info)}
    if labels is not None:
        files[metadata.LABELS_FILE] = ("\n".join(labels) + "\n").encode("utf-8")
    std_meta = _standard_metadata(loaded, mode.name, io, graph_input.prep, digest, labels is not None)
    path = Path(config.output_dir) / f"{loaded.name}_{mode.name}.tflite"
    path.write_bytes(metadata.embed(tflite_metadata.add_metadata(flatbuffer, std_meta), files))
    written = _verify(path, mode.name, io, size, graph_input.prep, labels, digest, graph)
    written.rounding, written.weights_only, written.task = rounding, twin, loaded.task
    return written


def _convert(loaded: LoadedModel, mode: QuantizeMode, io: str, graph_input: GraphInput, calib: Sequence[Any],
             progress: bool, tf: Any) -> bytes:
    """Run the TFLite converter with the flags :data:`QUANTIZE_MODES` gives ``mode``; return the flatbuffer."""
    with step(f"{mode.name}: converting", enabled=progress), quiet() as native:
        converter = loaded.make_converter(graph_input.fold)
        if mode.optimize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode.weight_type is not None:
            converter.target_spec.supported_types = [getattr(tf, mode.weight_type)]
        if mode.full_integer:
            log.debug("Calibrating on %d images", len(calib))
            converter.representative_dataset = lambda: calibration.representative_dataset(
                calib, loaded.input_shape, graph_input.prep, progress, graph_input.color_order,
                desc=f"{mode.name}: calibrating")
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = getattr(tf, io)
        try:
            return converter.convert()
        except Exception as exc:  # the converter raises ConverterError/ValueError/RuntimeError for unsupported graphs
            raise explain_failure(loaded.name, mode.name, exc, native.text()) from exc


def _refine_weights(loaded: LoadedModel, mode: QuantizeMode, flatbuffer: bytes, graph_input: GraphInput,
                    calib: Sequence[Any], config: ConvertConfig
                    ) -> tuple[bytes, weight_rounding.RoundingStats | None, WeightsOnly | None]:
    """Calibrated weight rounding and/or the weights-only twin of an int8 ``flatbuffer``, as ``config`` asks."""
    calibrated = config.weight_rounding == "calibrated"
    rounding: weight_rounding.RoundingStats | None = None
    twin: WeightsOnly | None = None
    with step(f"{mode.name}: rounding weights" if calibrated else f"{mode.name}: weights-only graph",
              enabled=config.progress), quiet():
        reference = loaded.make_converter(graph_input.fold).convert()  # the same graph in float32
        if calibrated:
            flatbuffer, rounding = _calibrated_rounding(loaded, reference, flatbuffer, calib, graph_input.prep,
                                                        graph_input.color_order, config.progress)
        if config.eval_dir is not None:
            twin_model, layers, left_float = weight_rounding.weights_only(flatbuffer, reference)
            twin = WeightsOnly(twin_model, graph_input.prep, graph_input.color_order, layers, left_float)
    return flatbuffer, rounding, twin


def _standard_metadata(loaded: LoadedModel, mode: str, io: str, model_prep: Preprocessing, digest: str,
                       has_labels: bool) -> bytes:
    """Return the ``TFLITE_METADATA`` flatbuffer: normalisation, input size, the labels file's name."""
    embedding = loaded.task == "image_embedding"
    size = loaded.input_shape
    kind = "Image embedding (L2-normalised feature vector)" if embedding else "Image classifier"
    return tflite_metadata.build_metadata(tflite_metadata.ImageClassifierMetadata(
        name=loaded.name, description=f"{kind} ({mode}, {io} I/O) converted by edgeml {__version__}.",
        version=digest[:16], width=size[1], height=size[0], channels=size[2], mean=model_prep.mean,
        std=model_prep.std, labels_file=metadata.LABELS_FILE if has_labels else None,
        **(dict(output_name="embedding", output_description="L2-normalised feature vector; compare two with "
                "their dot product (cosine similarity).") if embedding else {}),
    ))


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


def _info(loaded: LoadedModel, mode: QuantizeMode, io: str, graph_input: GraphInput, config: ConvertConfig,
          calib_count: int, digest: str, graph: report_graph.GraphSummary, tf: Any) -> dict[str, Any]:
    """Return what ``edgeml.json`` records: task, quantization, both preprocessings, folding, versions."""
    import keras

    quant = graph.input_quantization
    colour = loaded.input_shape[2] == 3
    return {
        "task": loaded.task,
        "quantization": mode.name,
        "io": io,
        "preprocessing": graph_input.prep.to_dict(),
        "color_order": graph_input.color_order if colour else None,
        "declared_preprocessing": {**config.preprocessing.to_dict(),
                                   "color_order": config.color_order if colour else None},
        "folded": config.fold,
        "fold": "input_quantization" if graph_input.in_quantization else "graph" if config.fold else None,
        "input_quantization": {"scale": quant[0], "zero_point": quant[1]} if quant else None,
        "output_activation": loaded.output_activation,
        "source": loaded.name,
        "calibration_images": calib_count if mode.full_integer else 0,
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
