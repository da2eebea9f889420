"""What a conversion takes, validated once: the quantize-mode table, presets, defaults and :class:`ConvertConfig`.

TensorFlow-free (standard library, numpy via :mod:`edgeml.preprocess`): ``edgeml convert`` takes its choices and
defaults from here at parse time, and a bad argument is an :class:`~edgeml.errors.InvalidArgumentError` (CLI exit
2) before any model is loaded. The TFLite converter flags each mode sets are applied by
:mod:`edgeml_converters.quantize.writer` from :data:`QUANTIZE_MODES`, so adding a mode is one row here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edgeml.errors import InvalidArgumentError
from edgeml.preprocess import Preprocessing

__all__ = ["COLOR_ORDERS", "DEFAULT_CHECK_IMAGES", "DEFAULT_MAX_CALIBRATION_IMAGES", "DEFAULT_QUANTIZE",
           "DEFAULT_WEIGHT_ROUNDING", "IO_TYPES", "PRESETS", "QUANTIZE_MODES", "WEIGHT_ROUNDING", "ConvertConfig",
           "QuantizeMode", "preprocessing_from", "preset"]


@dataclass(frozen=True)
class QuantizeMode:
    """One ``--quantize`` mode: what it needs and which TFLite converter flags make it.

    Attributes:
        name: The mode's name (``--quantize NAME``, ``<stem>_<name>.tflite``).
        summary: One line for people.
        optimize: Set ``converter.optimizations = [tf.lite.Optimize.DEFAULT]`` (quantize something).
        weight_type: ``target_spec.supported_types``: the type weights are stored in (``"float16"``), or None.
        full_integer: Integer kernels only (``TFLITE_BUILTINS_INT8``), activations calibrated on real images
            (a representative dataset), integer I/O: needs calibration data; runs on the Edge TPU.
        io_types: Input/output types it can be written with, its default first.
    """

    name: str
    summary: str
    optimize: bool = False
    weight_type: str | None = None
    full_integer: bool = False
    io_types: tuple[str, ...] = ("float32",)

    @property
    def needs_calibration(self) -> bool:
        return self.full_integer

    def io_for(self, io: str | None) -> str:
        """Return the I/O type this mode is written with when ``io`` is asked for (its default when it cannot)."""
        return io if io in self.io_types else self.io_types[0]


QUANTIZE_MODES: dict[str, QuantizeMode] = {m.name: m for m in (
    QuantizeMode("float32", "no quantization"),
    QuantizeMode("float16", "weights stored as float16", optimize=True, weight_type="float16"),
    QuantizeMode("dynamic", "int8 weights, float activations (dynamic range)", optimize=True),
    QuantizeMode("int8", "full integer, calibrated on real images", optimize=True, full_integer=True,
                 io_types=("uint8", "int8", "float32")),
)}
IO_TYPES = ("uint8", "int8", "float32")
WEIGHT_ROUNDING = ("calibrated", "nearest")
COLOR_ORDERS = ("rgb", "bgr")
DEFAULT_QUANTIZE = ("int8",)
DEFAULT_MAX_CALIBRATION_IMAGES = 300
DEFAULT_CHECK_IMAGES = 100
DEFAULT_WEIGHT_ROUNDING = "calibrated"
# Normalisation presets in pixel units: the model's float input is (pixel - mean) / std.
PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "raw": ((0.0,), (1.0,)),
    "[0,1]": ((0.0,), (255.0,)),
    "[-1,1]": ((127.5,), (127.5,)),
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
}

PathLike = str | os.PathLike[str]


def preset(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return ``(mean, std)`` of a normalisation preset.

    Raises:
        InvalidArgumentError: Unknown preset (the message lists the choices); also a ``ValueError``.
    """
    if name not in PRESETS:
        raise InvalidArgumentError(f"Unknown preprocessing preset {name!r}. Choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


def preprocessing_from(*, preset_name: str | None = None, mean: Sequence[float] | None = None,
                       std: Sequence[float] | None = None, resize: str = "stretch", crop_fraction: float = 1.0,
                       pad_value: int = 0) -> Preprocessing:
    """Return the :class:`Preprocessing` the CLI's ``--preset`` or ``--mean``/``--std`` and resize flags describe.

    Raises:
        InvalidArgumentError: Only one of ``mean``/``std``, an unknown preset, or an invalid value.
    """
    if (mean is None) != (std is None):
        raise InvalidArgumentError(f"--mean and --std go together (pixel units, e.g. --mean 127.5 --std 127.5); "
                                   f"or use --preset. Received: mean={mean}, std={std}.")
    if mean is None or std is None:
        mean, std = preset(preset_name or "raw")
    try:
        return Preprocessing.from_dict({"resize": resize, "crop_fraction": crop_fraction, "mean": mean, "std": std,
                                        "pad_value": pad_value})
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Invalid preprocessing (--mean/--std/--resize/--crop-fraction/--pad-value): "
                                   f"{exc}") from exc


@dataclass(frozen=True)
class ConvertConfig:
    """How :func:`edgeml_converters.convert.convert` converts a model; validated when built.

    Attributes:
        output_dir: Where the models go (created if missing).
        calibration_dir: Folder, glob or ``.npz`` of real images (needed for int8 and for the agreement check).
        quantize: Modes, names of :data:`QUANTIZE_MODES`, in writing order (a single name is accepted).
        io: Input/output type of the modes that offer a choice (int8: ``uint8`` by default, ``int8``, ``float32``).
        labels: Class names (file or sequence), embedded in each model and copied beside them.
        preprocessing: Resize mode and normalisation the model was trained with.
        color_order: ``"rgb"`` or ``"bgr"``: channel order the model was trained with.
        fold: Fold normalisation and colour order into the graph (raw RGB pixels in); else record them only.
        input_size: ``(H, W)`` for a model with an unknown input size.
        custom_objects: Custom Keras layers/functions needed to load the file.
        max_calibration_images: Calibration sample size; up to ``check_images`` more images check agreement.
        check_images: Images held out to check agreement with the float model (0: none).
        eval_dir: Labelled folder (one sub-folder per class) → ``report.json``, ``report.md`` and plots.
        eval_images: Evaluate on at most this many images of ``eval_dir`` (None: all).
        progress: Show a progress bar per long step on stderr.
        greyscale_calibration_ok: Calibrate a colour model on greyscale images too (only for a model trained on
            such images).
        weight_rounding: int8 weights: ``"calibrated"`` (minimise each layer's output error) or ``"nearest"``.
        embedding: Write an embedding model (the feature vector the last Dense layer reads); labels are ignored.

    Raises:
        InvalidArgumentError: A value out of range or not one of its choices; the message names the argument,
            what was received and the fix.
    """

    output_dir: PathLike
    calibration_dir: PathLike | None = None
    quantize: str | Sequence[str] = DEFAULT_QUANTIZE
    io: str | None = None
    labels: PathLike | Sequence[str] | None = None
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    color_order: str = "rgb"
    fold: bool = True
    input_size: tuple[int, int] | None = None
    custom_objects: Mapping[str, Any] | None = None
    max_calibration_images: int = DEFAULT_MAX_CALIBRATION_IMAGES
    check_images: int = DEFAULT_CHECK_IMAGES
    eval_dir: PathLike | None = None
    eval_images: int | None = None
    progress: bool = True
    greyscale_calibration_ok: bool = False
    weight_rounding: str = DEFAULT_WEIGHT_ROUNDING
    embedding: bool = False

    def __post_init__(self) -> None:
        modes = (self.quantize,) if isinstance(self.quantize, str) else tuple(self.quantize)
        object.__setattr__(self, "quantize", modes)
        if self.labels is not None and not isinstance(self.labels, (str, os.PathLike)):
            object.__setattr__(self, "labels", tuple(self.labels))
        if self.input_size is not None:
            object.__setattr__(self, "input_size", tuple(self.input_size))
        _check_modes(modes, self.io, self.calibration_dir)
        _choice("weight_rounding", "--weight-rounding", self.weight_rounding, WEIGHT_ROUNDING)
        _choice("color_order", "--color-order", self.color_order, COLOR_ORDERS)
        if not isinstance(self.preprocessing, Preprocessing):
            raise InvalidArgumentError(f"preprocessing must be an edgeml.preprocess.Preprocessing. Received: "
                                       f"{type(self.preprocessing).__name__}. Build one, e.g. "
                                       "Preprocessing(mean=(127.5,), std=(127.5,)).")
        if self.input_size is not None and (len(self.input_size) != 2 or not all(_count(v, 1) for v in
                                                                                 self.input_size)):
            raise InvalidArgumentError(f"input_size must be (H, W), two integers >= 1 (--input-size HxW). "
                                       f"Received: {self.input_size!r}.")
        _at_least("max_calibration_images", "--max-calibration-images", self.max_calibration_images, 1)
        _at_least("check_images", None, self.check_images, 0)
        if self.eval_images is not None:
            _at_least("eval_images", "--eval-images", self.eval_images, 1)
            if self.eval_dir is None:
                raise InvalidArgumentError(f"eval_images (--eval-images) limits the evaluation folder, but no "
                                           f"eval_dir (--eval DIR) was given. Received: eval_images="
                                           f"{self.eval_images}. Pass --eval DIR or drop --eval-images.")

    @property
    def modes(self) -> tuple[QuantizeMode, ...]:
        """The :data:`QUANTIZE_MODES` rows of :attr:`quantize`, in writing order."""
        return tuple(QUANTIZE_MODES[name] for name in self.quantize)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (inverse of :meth:`from_dict`; custom objects are recorded by name)."""
        d: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            elif isinstance(value, tuple):
                value = list(value)
            d[name] = value
        d["preprocessing"] = self.preprocessing.to_dict()
        d["custom_objects"] = sorted(self.custom_objects) if self.custom_objects else None
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> ConvertConfig:
        """Build from :meth:`to_dict` output; ``custom_objects`` supplies the objects it names.

        Raises:
            InvalidArgumentError: An unknown key, a named custom object not supplied, or an invalid value.
        """
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidArgumentError(f"Unknown ConvertConfig field(s): {', '.join(unknown)}. Valid fields: "
                                       f"{', '.join(cls.__dataclass_fields__)}.")
        missing = sorted(set(data.get("custom_objects") or ()) - set(custom_objects or {}))
        if missing:
            raise InvalidArgumentError(f"The config names custom objects that were not supplied: "
                                       f"{', '.join(missing)}. Pass them: from_dict(data, custom_objects={{...}}).")
        known = {**data, "custom_objects": custom_objects}
        if isinstance(known.get("preprocessing"), Mapping):
            known["preprocessing"] = Preprocessing.from_dict(known["preprocessing"])
        return cls(**known)


def _check_modes(modes: tuple[str, ...], io: str | None, calibration_dir: PathLike | None) -> None:
    choices = ", ".join(QUANTIZE_MODES)
    if not modes:
        raise InvalidArgumentError(f"quantize (--quantize) needs at least one mode. Received: none. Choose from: "
                                   f"{choices}.")
    bad = [m for m in modes if m not in QUANTIZE_MODES]
    if bad:
        raise InvalidArgumentError(f"Unknown quantize mode(s) {bad} (--quantize). Received: {list(modes)}. Choose "
                                   f"from: {choices}.")
    twice = sorted({m for m in modes if modes.count(m) > 1})
    if twice:
        raise InvalidArgumentError(f"quantize (--quantize) names {', '.join(twice)} more than once; each mode writes "
                                   f"one file. Received: {list(modes)}. Give each mode once.")
    if io is not None:
        _choice("io", "--io", io, IO_TYPES)
        if not any(io in QUANTIZE_MODES[m].io_types for m in modes):
            takers = [m.name for m in QUANTIZE_MODES.values() if io in m.io_types]
            raise InvalidArgumentError(f"io={io!r} (--io) applies to {', '.join(takers)} models only, and none is "
                                       f"asked for. Received: quantize={list(modes)}. Add int8 to --quantize, or "
                                       "drop --io.")
    needy = [m for m in modes if QUANTIZE_MODES[m].needs_calibration]
    if needy and calibration_dir is None:
        raise InvalidArgumentError(
            f"{', '.join(needy)} quantization needs calibration images: pass --calibration DIR|GLOB|FILE.npz "
            "(calibration_dir=...; 100-500 real images like the ones the model will see), or use "
            f"--quantize {'|'.join(m.name for m in QUANTIZE_MODES.values() if not m.needs_calibration)}."
        )


def _choice(name: str, flag: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidArgumentError(f"Unknown {name} {value!r} ({flag}). Choose from: {', '.join(choices)}.")


def _count(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _at_least(name: str, flag: str | None, value: object, minimum: int) -> None:
    if not _count(value, minimum):
        where = f" ({flag} N)" if flag else ""
        raise InvalidArgumentError(f"{name}{where} must be an integer >= {minimum}. Received: {value!r}.")
