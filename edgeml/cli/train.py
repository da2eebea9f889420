"""``edgeml train``: transfer learning from an image folder to an int8 .tflite (host only; TensorFlow)."""

from __future__ import annotations

import argparse
import json

from edgeml.cli._args import positive_int
from edgeml_converters.backbones import NAMES as BACKBONES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train a classifier on an image folder from a pretrained backbone (host, needs TensorFlow)",
        description="Train a new head on a pretrained ImageNet backbone (offline weights), optionally fine-tune "
                    "its top blocks, convert to int8 and report float vs int8 accuracy on a held-out split. "
                    "DATA_DIR holds one sub-folder of images per class; any size, colour or greyscale.",
    )
    p.add_argument("data_dir", metavar="DATA_DIR", help="folder with one sub-folder of images per class")
    p.add_argument("--output", "-o", metavar="OUT_DIR", required=True,
                   help="folder for model.keras, model_int8.tflite and labels.txt")
    p.add_argument("--backbone", default="efficientnet-lite0", help=f"one of {', '.join(BACKBONES)} "
                   "(default: efficientnet-lite0)")
    p.add_argument("--epochs", type=positive_int, default=10,
                   help="maximum epochs per phase; early stopping (default: 10)")
    p.add_argument("--fine-tune", action="store_true", help="then unfreeze and train the top blocks")
    p.add_argument("--image-size", type=int, default=None,
                   help="square input side (default: the backbone's, 224 for lite0); smaller trains faster")
    p.add_argument("--batch-size", type=positive_int, default=32, help="default: 32")
    p.add_argument("--val-split", type=float, default=0.2, help="fraction held out per class (default: 0.2)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="head learning rate (default: 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="default: 0")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("edgeml train (run it on the host, not the Raspberry Pi)")
    from edgeml_converters.train import TrainConfig, train

    config = TrainConfig(backbone=args.backbone, epochs=args.epochs, fine_tune=args.fine_tune,
                         image_size=args.image_size, batch_size=args.batch_size, val_split=args.val_split,
                         learning_rate=args.learning_rate, seed=args.seed)
    result = train(args.data_dir, args.output, config)  # prints nothing of Keras's: our bars go to stderr
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.model_path)
        print(f"classes={len(result.classes)} train={result.train_images} val={result.val_images} "
              f"skipped={result.skipped_images} float_acc={result.float_accuracy:.4f} "
              f"int8_acc={result.int8_accuracy:.4f} agreement={result.agreement:.4f} "
              f"epochs={result.epochs_run} train_s={result.train_seconds:.1f}")
    return 0
