"""``edgeml convert``: Keras model → quantized .tflite with metadata inside (host only; needs the [convert] extra).

Choices and defaults come from the TensorFlow-free :mod:`edgeml_converters.config`; the steps are
:func:`edgeml_converters.job.run_job`'s, imported (with TensorFlow) only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from edgeml.cli._args import positive_int, tensor_size
from edgeml.cli.bundle import add_bundle_options
from edgeml.preprocess import RESIZE_MODES
from edgeml_converters import config


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
    modes = "; ".join(f"{m.name} ({m.summary})" for m in config.QUANTIZE_MODES.values())
    p.add_argument("--quantize", nargs="+", choices=tuple(config.QUANTIZE_MODES), metavar="MODE",
                   default=list(config.DEFAULT_QUANTIZE),
                   help=f"one or more of: {modes} (default: {' '.join(config.DEFAULT_QUANTIZE)})")
    p.add_argument("--io", choices=config.IO_TYPES, help="input/output type of int8 models (default: uint8)")
    p.add_argument("--calibration", metavar="DIR|GLOB|NPZ", help="real images: a folder (optionally one "
                   "sub-folder per class), a quoted glob, or an .npz of uint8 (N, H, W, C); required for int8")
    p.add_argument("--greyscale-calibration-ok", action="store_true", help="calibrate a colour model on greyscale "
                   "images too (made RGB as the runtime does): only for a model trained on such images")
    p.add_argument("--max-calibration-images", type=positive_int, default=config.DEFAULT_MAX_CALIBRATION_IMAGES,
                   metavar="N", help=f"default: {config.DEFAULT_MAX_CALIBRATION_IMAGES}")
    p.add_argument("--weight-rounding", choices=config.WEIGHT_ROUNDING, default=config.DEFAULT_WEIGHT_ROUNDING,
                   help="int8 weights: calibrated (default) rounds each weight up or down to minimise its layer's "
                   "output error on the calibration images; nearest keeps TFLite's rounding")
    p.add_argument("--labels", metavar="FILE", help="class names, one per line, embedded in the model")
    norm = p.add_mutually_exclusive_group()
    norm.add_argument("--preset", choices=tuple(config.PRESETS), help="training normalisation: imagenet (torchvision "
                      "mean/std), [-1,1], [0,1] or raw 0..255 (default: raw)")
    norm.add_argument("--mean", type=float, nargs="+", help="per-channel mean in pixel units (with --std)")
    p.add_argument("--std", type=float, nargs="+", help="per-channel std in pixel units (with --mean)")
    p.add_argument("--resize", choices=[m.replace("_", "-") for m in RESIZE_MODES], default=RESIZE_MODES[0],
                   help="how frames are fitted to the input size (recorded in the model; default: stretch)")
    p.add_argument("--crop-fraction", type=float, default=1.0, help="with center-crop: short-side fraction kept")
    p.add_argument("--pad-value", type=int, default=0, metavar="0..255",
                   help="with letterbox: pixel value of the borders, as in training (default: 0)")
    p.add_argument("--color-order", choices=config.COLOR_ORDERS, default=config.COLOR_ORDERS[0],
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml_converters.job import BundleOptions, EdgeTpuOptions, run_job  # TensorFlow once settings are checked

    prep = config.preprocessing_from(preset_name=args.preset, mean=args.mean, std=args.std, resize=args.resize,
                                     crop_fraction=args.crop_fraction, pad_value=args.pad_value)
    edgetpu = EdgeTpuOptions(args.allow_cpu_ops, args.min_runtime, args.segments) if args.target == "edgetpu" else None
    bundle = BundleOptions(args.version, args.name, args.key, args.unsigned) if args.bundle else None
    # Prints nothing of TensorFlow's (-v logs it); the progress bars are on stderr. Bad settings: exit 2.
    result = run_job(
        args.model, args.output, custom_objects_file=args.custom_objects, edgetpu=edgetpu, bundle=bundle,
        calibration_dir=args.calibration, quantize=args.quantize, io=args.io, labels=args.labels,
        preprocessing=prep, color_order=args.color_order, fold=args.fold, input_size=args.input_size,
        max_calibration_images=args.max_calibration_images, eval_dir=args.eval, eval_images=args.eval_images,
        greyscale_calibration_ok=args.greyscale_calibration_ok, weight_rounding=args.weight_rounding,
        embedding=args.embedding,
    )
    for line in result.summary():
        print(line, file=sys.stderr)
    for record in result.records():
        print(json.dumps(record) if args.json else record["path"])
    return 0
