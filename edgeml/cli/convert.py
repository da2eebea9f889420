"""``edgeml convert``: Keras model → quantized .tflite with metadata inside (host only; needs the [convert] extra)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edgeml.cli._args import positive_int, tensor_size
from edgeml.cli.bundle import add_bundle_options
from edgeml.errors import ConversionError

QUANTIZE_MODES = ("float32", "float16", "dynamic", "int8")
PRESET_NAMES = ("imagenet", "[-1,1]", "[0,1]", "raw")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="convert a Keras model to a quantized .tflite (host, needs TensorFlow)",
        description="Convert a Keras model (.keras, .h5 or SavedModel folder) into .tflite files (one per "
                    "--quantize mode) with a static (1, H, W, C) input, labels and preprocessing inside as standard "
                    "TFLite metadata. int8 models are calibrated on real images and take raw uint8 pixels.",
    )
    p.add_argument("model", metavar="MODEL", help=".keras or .h5 file, SavedModel folder, or a pretrained ImageNet "
                   "backbone: efficientnet-lite0, -lite1, -lite2 (weights from the [pretrained] extra; its "
                   "preprocessing and labels come with it)")
    p.add_argument("--output", "-o", metavar="OUT_DIR", required=True, help="folder to write the models into")
    p.add_argument("--quantize", nargs="+", choices=QUANTIZE_MODES, default=["int8"], metavar="MODE",
                   help=f"one or more of {', '.join(QUANTIZE_MODES)} (default: int8)")
    p.add_argument("--io", choices=("uint8", "int8", "float32"), help="input/output type of int8 models "
                   "(default: uint8)")
    p.add_argument("--calibration", metavar="DIR|GLOB|NPZ", help="real images: a folder (optionally one "
                   "sub-folder per class), a quoted glob, or an .npz of uint8 (N, H, W, C); required for int8")
    p.add_argument("--greyscale-calibration-ok", action="store_true", help="calibrate a colour model on greyscale "
                   "images too (made RGB as the runtime does): only for a model trained on such images")
    p.add_argument("--max-calibration-images", type=positive_int, default=300, metavar="N", help="default: 300")
    p.add_argument("--weight-rounding", choices=("calibrated", "nearest"), default="calibrated",
                   help="int8 weights: calibrated (default) rounds each weight up or down to minimise its layer's "
                   "output error on the calibration images; nearest keeps TFLite's rounding")
    p.add_argument("--labels", metavar="FILE", help="class names, one per line, embedded in the model")
    norm = p.add_mutually_exclusive_group()
    norm.add_argument("--preset", choices=PRESET_NAMES, help="training normalisation: imagenet (torchvision "
                      "mean/std), [-1,1], [0,1] or raw 0..255 (default: raw)")
    norm.add_argument("--mean", type=float, nargs="+", help="per-channel mean in pixel units (with --std)")
    p.add_argument("--std", type=float, nargs="+", help="per-channel std in pixel units (with --mean)")
    p.add_argument("--resize", choices=("stretch", "center-crop", "letterbox"), default="stretch",
                   help="how frames are fitted to the input size (recorded in the model; default: stretch)")
    p.add_argument("--crop-fraction", type=float, default=1.0, help="with center-crop: short-side fraction kept")
    p.add_argument("--pad-value", type=int, default=0, metavar="0..255",
                   help="with letterbox: pixel value of the borders, as in training (default: 0)")
    p.add_argument("--color-order", choices=("rgb", "bgr"), default="rgb",
                   help="channel order the model was trained with (bgr: OpenCV-style; folded into the model)")
    p.add_argument("--no-fold", dest="fold", action="store_false",
                   help="record the normalisation in the metadata instead of folding it into the model")
    p.add_argument("--input-size", type=tensor_size, metavar="HxW",
                   help="input size for models whose H/W are not fixed; for a pretrained backbone, its square "
                   "input side (e.g. 160x160)")
    p.add_argument("--custom-objects", metavar="FILE.py", help="Python file defining custom Keras layers")
    p.add_argument("--eval", metavar="DIR", help="labelled folder (one sub-folder per class): write report.json, "
                   "report.md and plots comparing float with every produced model")
    p.add_argument("--eval-images", type=positive_int, metavar="N", help="evaluate on at most N images")
    p.add_argument("--embedding", action="store_true", help="write an embedding model: the output is the "
                   "L2-normalised feature vector the classifier's last layer reads (for `edgeml learn` and "
                   "`edgeml index`); no labels")
    p.add_argument("--json", action="store_true", help="print one JSON object per written file")
    p.add_argument("--target", choices=("cpu", "edgetpu"), default="cpu",
                   help="edgetpu: check the int8 model for the Edge TPU, then run edgetpu_compiler if installed")
    p.add_argument("--allow-cpu-ops", action="store_true", help="with --target edgetpu: warn instead of refusing "
                   "when ops are predicted to run on the CPU")
    p.add_argument("--min-runtime", type=positive_int,
                   help="with --target edgetpu: edgetpu_compiler -m (e.g. 13 or 14)")
    p.add_argument("--segments", type=positive_int, help="with --target edgetpu: edgetpu_compiler -n (pipelining)")
    g = p.add_argument_group("a signed bundle for the device's model store (edgeml models install)")
    g.add_argument("--bundle", action="store_true", help="also write OUT_DIR/NAME-N.edgeml: the int8 model (else the "
                   "first mode), its _edgetpu twin, labels and report.json, signed with --key")
    add_bundle_options(g, required=False)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("edgeml convert (run it on the host, not the Raspberry Pi)")
    from edgeml.preprocess import Preprocessing
    from edgeml_converters import backbones
    from edgeml_converters.convert import convert, preset
    from edgeml_converters.loading import load_custom_objects

    if args.target == "edgetpu" and "int8" not in args.quantize:
        raise ConversionError("--target edgetpu needs a full-int8 model (the Edge TPU runs 8-bit tensors only). "
                              f"Received: --quantize {' '.join(args.quantize)}. Add int8 to --quantize.")
    if args.bundle and (args.version is None or not (args.key or args.unsigned)):
        args.parser.error("--bundle needs --version N and --key KEY (or --unsigned)")
    if (args.mean is None) != (args.std is None):
        raise ConversionError("--mean and --std go together (pixel units, e.g. --mean 127.5 --std 127.5); "
                              "or use --preset.")
    mean, std = (args.mean, args.std) if args.mean is not None else preset(args.preset or "raw")
    try:
        prep = Preprocessing.from_dict({"resize": args.resize.replace("-", "_"), "crop_fraction": args.crop_fraction,
                                        "mean": mean, "std": std, "pad_value": args.pad_value})
    except ValueError as exc:
        raise ConversionError(f"Invalid preprocessing: {exc}. (resize letterbox needs an edgeml runtime that "
                              "supports it.)") from exc
    pretrained = backbones.resolve_model_argument(args.model)
    custom = load_custom_objects(args.custom_objects) if args.custom_objects else None
    options: dict[str, Any] = dict(
        calibration_dir=args.calibration, quantize=args.quantize, io=args.io, eval_dir=args.eval,
        eval_images=args.eval_images, greyscale_calibration_ok=args.greyscale_calibration_ok,
        weight_rounding=args.weight_rounding, embedding=args.embedding,
    )
    # Both print nothing of TensorFlow's (-v logs it); their progress bars are on stderr.
    if pretrained is not None:  # its preprocessing and labels come with it; the offline photos calibrate
        from edgeml_converters.backbones.export import convert_pretrained

        limit = args.max_calibration_images if args.calibration else None
        size = None
        if args.input_size is not None:
            if args.input_size[0] != args.input_size[1]:
                raise ConversionError(f"{pretrained} takes a square input: pass --input-size NxN. Received: "
                                      f"{args.input_size[0]}x{args.input_size[1]}.")
            size = args.input_size[0]
        result = convert_pretrained(pretrained, args.output, max_calibration_images=limit, image_size=size,
                                    **options)
    else:
        result = convert(
            args.model, output_dir=args.output, labels=args.labels, preprocessing=prep,
            color_order=args.color_order, fold=args.fold,
            input_size=args.input_size, custom_objects=custom,
            max_calibration_images=args.max_calibration_images, **options,
        )
    for line in summary(result):
        print(line, file=sys.stderr)
    for m in result.models:
        if args.json:
            print(json.dumps({"path": str(m.path), "quantize": m.mode, "io": m.io, "bytes": m.path.stat().st_size,
                              "input": m.input.to_dict(), "exact_input": m.exact_input, "agreement": m.agreement,
                              "checked_images": m.checked_images, "checked_held_out": m.checked_held_out,
                              "content_sha256": m.content_sha256}))
        else:
            print(m.path)
    for path in result.files[len(result.models):]:
        print(json.dumps({"path": str(path)}) if args.json else path)
    compiled: list[Any] = []
    if args.target == "edgetpu":
        from edgeml_converters.edgetpu.target import target_edgetpu

        int8 = next(m for m in result.models if m.mode == "int8")
        compiled = list(target_edgetpu(int8.path, args.output, allow_cpu_ops=args.allow_cpu_ops,
                                       min_runtime=args.min_runtime, segments=args.segments).outputs)
        for path in compiled:
            print(json.dumps({"path": str(path)}) if args.json else path)
    if args.bundle:
        path = _bundle(args, result, compiled)
        print(json.dumps({"path": str(path), "bundle": True}) if args.json else path)
    return 0


def _bundle(args: argparse.Namespace, result: Any, compiled: list[Any]) -> Any:
    """Write the signed bundle of what this conversion produced (the int8 model first)."""
    from pathlib import Path

    from edgeml.store.bundle import BUNDLE_SUFFIX, create_bundle

    main = next((m for m in result.models if m.mode == "int8"), result.models[0])
    files = [main.path, *(p for p in compiled if str(p).endswith("_edgetpu.tflite"))]
    files += [p for p in (result.labels_path, result.report_path) if p is not None]
    name = args.name or main.path.stem
    report = None
    if result.report_path is None and main.agreement is not None:
        report = {"agreement_with_float": round(main.agreement, 6), "checked_images": main.checked_images,
                  "checked_held_out": main.checked_held_out}
    output = Path(args.output) / f"{name}-{args.version}{BUNDLE_SUFFIX}"
    manifest = create_bundle(files, name=name, version=args.version, output=output,
                             key=None if args.unsigned else args.key, report=report)
    print(f"Bundle: {output} ({manifest.name} {manifest.version}, {len(manifest.files)} files, "
          f"{'unsigned' if args.unsigned else 'signed'})", file=sys.stderr)
    return output


def summary(result: Any) -> list[str]:
    """Return the lines telling a person what was written: per model its mode, file, size, input and agreement."""
    rows = []
    for m in result.models:
        inp = m.input
        if inp.quantized:
            how = {True: ", pixels copied in", False: ", requantized per frame"}.get(m.exact_input, "")
            tensor = f"{inp.dtype_name} input scale={inp.scale:g} zero_point={inp.zero_point}{how}"
        else:
            tensor = f"{inp.dtype_name} input"
        if m.agreement is not None and getattr(m, "task", "") == "image_embedding":
            where = "held-out" if m.checked_held_out else "calibration"
            check = f"embedding cosine with float {m.agreement:.4f} (mean of {m.checked_images} {where} images)"
        elif m.agreement is not None:
            where = "held-out" if m.checked_held_out else "calibration"
            check = f"top-1 agrees with float on {m.agreement:.1%} of {m.checked_images} {where} images"
        else:
            check = "" if m.mode == "float32" else "not checked against float (no calibration images)"
        rows.append((m.mode, m.path.name, _size(m.path.stat().st_size), tensor, check))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [f"Wrote {len(rows)} model{'s' if len(rows) != 1 else ''} to {result.models[0].path.parent}:"]
    lines += [("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip() for row in rows]
    if result.report_path is not None:
        lines.append(f"Report: {result.report_path.with_suffix('.md')}")
    return lines


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"
