"""``edgeml convert``: Keras model → quantized .tflite (host only; needs the [convert] extra)."""

from __future__ import annotations

import argparse
import contextlib
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="convert a Keras model to a quantized .tflite (host, needs TensorFlow)",
        description="Convert a Keras model (.keras, .h5 or SavedModel folder) into a .tflite calibrated on real "
                    "images. int8 models take uint8 pixels and give uint8 scores, with a static (1, H, W, C) input.",
    )
    p.add_argument("model", metavar="MODEL", help=".keras or .h5 file, SavedModel folder, or a pretrained ImageNet "
                   "backbone: efficientnet-lite0, -lite1, -lite2 (weights from the [pretrained] extra)")
    p.add_argument("--calibration", metavar="DIR", help="folder of images (optionally one sub-folder per class); "
                   "required for int8")
    p.add_argument("--output", "-o", metavar="OUT_DIR", required=True, help="folder to write the model into")
    p.add_argument("--quantize", choices=("int8", "float32"), default="int8", help="default: int8")
    p.add_argument("--labels", metavar="FILE", help="class names, one per line, embedded in the model")
    p.add_argument("--resize", choices=("stretch", "center_crop"), default="stretch",
                   help="how images are fitted to the input size (recorded in the model; default: stretch)")
    p.add_argument("--crop-fraction", type=float, default=1.0, help="with center_crop: short-side fraction kept")
    p.add_argument("--mean", type=float, nargs="+", default=[0.0],
                   help="per-channel mean in pixel units the model expects subtracted (default: 0)")
    p.add_argument("--std", type=float, nargs="+", default=[1.0],
                   help="per-channel std in pixel units the model expects divided by (default: 1)")
    p.add_argument("--max-calibration-images", type=int, default=300, help="default: 300")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("edgeml convert (run it on the host, not the Raspberry Pi)")
    from edgeml.preprocess import Preprocessing
    from edgeml_converters import backbones
    from edgeml_converters.convert import convert

    pretrained = backbones.resolve_model_argument(args.model)
    if pretrained is not None:  # its preprocessing and labels come with it; the photo set calibrates by default
        from edgeml_converters.backbones.export import convert_pretrained

        limit = args.max_calibration_images if args.calibration else None
        with contextlib.redirect_stdout(sys.stderr):
            result = convert_pretrained(pretrained, args.output, calibration_dir=args.calibration,
                                        quantize=args.quantize, max_calibration_images=limit)
        print(result.model_path)
        return 0
    # Keras prints export details on stdout; stdout is for results only.
    with contextlib.redirect_stdout(sys.stderr):
        result = convert(
            args.model,
            output_dir=args.output,
            calibration_dir=args.calibration,
            quantize=args.quantize,
            labels=args.labels,
            preprocessing=Preprocessing(resize=args.resize, crop_fraction=args.crop_fraction,
                                        mean=tuple(args.mean), std=tuple(args.std)),
            max_calibration_images=args.max_calibration_images,
        )
    print(result.model_path)
    return 0
