"""One ``edgeml convert`` run: convert a model file or a pretrained backbone, then check and compile it for the
Edge TPU and sign a bundle of it, as asked.

The CLI parses its flags into a :func:`run_job` call and prints the :class:`JobResult`; everything between lives
here so that a script gets the same steps. Settings are checked before anything heavy happens: the conversion
settings by :class:`~edgeml_converters.config.ConvertConfig`, the rest by the option classes below, all as
:class:`~edgeml.errors.InvalidArgumentError` (CLI exit 2).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeml.errors import InvalidArgumentError
from edgeml_converters import backbones
from edgeml_converters.config import QUANTIZE_MODES, ConvertConfig
from edgeml_converters.tf import import_tensorflow

if TYPE_CHECKING:
    from edgeml_converters.convert import ConversionResult

__all__ = ["BundleOptions", "EdgeTpuOptions", "JobResult", "run_job"]

# Settings a pretrained backbone brings itself (its labels, preprocessing, colour order; its input size is
# ``image_size``); the others are passed on to the conversion.
_BACKBONE_OWN = ("labels", "preprocessing", "color_order", "fold", "input_size", "max_calibration_images")


@dataclass(frozen=True)
class EdgeTpuOptions:
    """``--target edgetpu``: check the full-integer model for the Edge TPU, then compile it when possible.

    Attributes:
        allow_cpu_ops: Warn instead of refusing when ops are predicted to run on the CPU.
        min_runtime: ``edgetpu_compiler -m``; ``segments``: ``edgetpu_compiler -n`` (pipelining).
    """

    allow_cpu_ops: bool = False
    min_runtime: int | None = None
    segments: int | None = None


@dataclass(frozen=True)
class BundleOptions:
    """``--bundle``: a signed ``NAME-VERSION.edgeml`` of the converted model for the device's model store.

    Attributes:
        version: Integer above every version the devices have.
        name: The model's name on the device (``store:NAME``); default: the model file's stem.
        key: Private key from ``edgeml keys generate``; None with ``unsigned``.
        unsigned: Write it without a signature (devices need ``--allow-unsigned``).
    """

    version: int
    name: str | None = None
    key: str | os.PathLike[str] | None = None
    unsigned: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.version, int) or self.version < 1 or (self.key is None) != self.unsigned:
            raise InvalidArgumentError(f"--bundle needs --version N and either --key KEY or --unsigned. Received: "
                                       f"version={self.version}, key={self.key}, unsigned={self.unsigned}. Make a "
                                       "key with `edgeml keys generate`.")


@dataclass
class JobResult:
    """What :func:`run_job` wrote: the conversion, the Edge TPU twins, the bundle."""

    conversion: ConversionResult
    compiled: list[Path] = field(default_factory=list)
    bundle: Path | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Return the lines for a person (the conversion's summary, then the bundle's)."""
        return [*self.conversion.summary(), *self.notes]

    def records(self) -> list[dict[str, Any]]:
        """Return one JSON-friendly record per written file: models (with their details), then the others."""
        result = self.conversion
        records = [m.to_dict() for m in result.models]
        records += [{"path": str(p)} for p in [*result.files[len(result.models):], *self.compiled]]
        if self.bundle is not None:
            records.append({"path": str(self.bundle), "bundle": True})
        return records


def run_job(model: str, output_dir: str | os.PathLike[str], *, custom_objects_file: str | None = None,
            edgetpu: EdgeTpuOptions | None = None, bundle: BundleOptions | None = None,
            **settings: Any) -> JobResult:
    """Convert ``model`` into ``output_dir``, then run the Edge TPU and bundle steps that are asked for.

    Every setting is checked before TensorFlow is imported, so a bad one fails in a moment, on any machine.

    Args:
        model: A ``.keras``/``.h5`` file or SavedModel folder, or a pretrained backbone's name (then its labels,
            preprocessing and, without ``calibration_dir``, the offline photos come with it).
        output_dir: Where every file goes.
        custom_objects_file: A Python file defining custom Keras layers.
        edgetpu: Check and compile the full-integer model for the Edge TPU.
        bundle: Also write a bundle of the full-integer model (else the first), its Edge TPU twin, labels and
            report.
        **settings: :class:`ConvertConfig` fields.

    Raises:
        InvalidArgumentError: A bad setting. MissingDependencyError: TensorFlow is not installed (the message
            says how to install it). ConversionError and the converter's other errors.
    """
    backbone = backbones.resolve_model_argument(model)
    config = ConvertConfig(output_dir, **settings) if backbone is None else _backbone_check(backbone, output_dir,
                                                                                            settings)
    if edgetpu is not None and not any(mode.full_integer for mode in config.modes):
        raise InvalidArgumentError("--target edgetpu needs a full-int8 model (the Edge TPU runs 8-bit tensors only)."
                                   f" Received: --quantize {' '.join(config.quantize)}. Add int8 to --quantize.")
    import_tensorflow("edgeml convert (run it on the host, not the Raspberry Pi)")
    if backbone is not None:
        result = JobResult(_convert_backbone(backbone, output_dir, settings))
    else:
        from edgeml_converters.convert import convert
        from edgeml_converters.loading import load_custom_objects

        if custom_objects_file:
            config = dataclasses.replace(config, custom_objects=load_custom_objects(custom_objects_file))
        result = JobResult(convert(model, config))
    if edgetpu is not None:
        from edgeml_converters.edgetpu.target import target_edgetpu

        full = next(m for m in result.conversion.models if QUANTIZE_MODES[m.mode].full_integer)
        result.compiled = list(target_edgetpu(full.path, output_dir, allow_cpu_ops=edgetpu.allow_cpu_ops,
                                              min_runtime=edgetpu.min_runtime, segments=edgetpu.segments).outputs)
    if bundle is not None:
        _bundle(result, Path(output_dir), bundle)
    return result


def _backbone_check(name: str, output_dir: str | os.PathLike[str], settings: dict[str, Any]) -> ConvertConfig:
    """Check ``settings`` for pretrained backbone ``name``; return them as a config (labels etc. left out).

    Raises:
        InvalidArgumentError: A non-square ``input_size``, or a setting :class:`ConvertConfig` refuses.
    """
    size = settings.get("input_size")
    if size is not None and size[0] != size[1]:
        raise InvalidArgumentError(f"{name} takes a square input: pass --input-size NxN. Received: "
                                   f"{size[0]}x{size[1]}.")
    passed = {k: v for k, v in settings.items() if k not in _BACKBONE_OWN}
    # Without a calibration folder the offline photos calibrate (convert_pretrained writes them at run time).
    return ConvertConfig(output_dir, **{**passed, "calibration_dir": passed.get("calibration_dir") or "photos"})


def _convert_backbone(name: str, output_dir: str | os.PathLike[str], settings: dict[str, Any]
                      ) -> ConversionResult:
    """Convert pretrained backbone ``name`` with ``settings`` (its own labels and preprocessing win)."""
    from edgeml_converters.backbones.export import convert_pretrained

    size = settings.get("input_size")
    passed = {k: v for k, v in settings.items() if k not in _BACKBONE_OWN}
    # --max-calibration-images sizes a calibration folder of the user's; the photo set has its own default.
    limit = settings.get("max_calibration_images") if settings.get("calibration_dir") is not None else None
    return convert_pretrained(name, output_dir, max_calibration_images=limit,
                              image_size=None if size is None else size[0], **passed)


def _bundle(result: JobResult, output_dir: Path, options: BundleOptions) -> None:
    """Write the signed bundle of what the job produced (the full-integer model first); note it in ``result``."""
    from edgeml.store.bundle import BUNDLE_SUFFIX, create_bundle

    conversion = result.conversion
    main = next((m for m in conversion.models if QUANTIZE_MODES[m.mode].full_integer), conversion.models[0])
    files = [main.path, *(p for p in result.compiled if str(p).endswith("_edgetpu.tflite"))]
    files += [p for p in (conversion.labels_path, conversion.report_path) if p is not None]
    name = options.name or main.path.stem
    report = None
    if conversion.report_path is None and main.agreement is not None:
        report = {"agreement_with_float": round(main.agreement, 6), "checked_images": main.checked_images,
                  "checked_held_out": main.checked_held_out}
    output = output_dir / f"{name}-{options.version}{BUNDLE_SUFFIX}"
    manifest = create_bundle(files, name=name, version=options.version, output=output, key=options.key,
                             report=report)
    result.bundle = output
    result.notes.append(f"Bundle: {output} ({manifest.name} {manifest.version}, {len(manifest.files)} files, "
                        f"{'unsigned' if options.unsigned else 'signed'})")
