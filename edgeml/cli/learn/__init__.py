"""``edgeml learn``: teach new classes on the device from a few images or frames; export them as one .tflite."""

from __future__ import annotations

import argparse

from edgeml.cli._args import positive_int, probability
from edgeml.cli.learn.actions import run_add, run_export, run_forget, run_list, run_predict


def _common(p: argparse.ArgumentParser, model_required: bool) -> None:
    p.add_argument("--model", "-m", required=model_required, default=None,
                   help="the embedding model (edgeml convert ... --embedding)")
    p.add_argument("--store", metavar="DIR", help="store directory (default: $EDGEML_STORE, else "
                   "~/.local/share/edgeml; the service uses /var/lib/edgeml)")


def _inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="*", metavar="IMAGE|DIR", help="image files or folders of images")
    p.add_argument("--source", help="take frames from a stream source instead (camera, picamera2, usb:0, ...)")
    p.add_argument("--frames", type=positive_int, default=20, help="with --source: frames to take (default: 20)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "learn", help="teach new classes on the device (only embeddings are kept, never pixels)",
        description="Learn classes from a few images or frames, on the device: only embeddings and labels are "
                    "stored (mode 0600, under STORE/learned/, per embedding model); `learn export` writes an "
                    "int8 .tflite classifier that `edgeml classify` runs.")
    sub = p.add_subparsers(dest="learn_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add examples of LABEL")
    add.add_argument("label", metavar="LABEL")
    _common(add, False)
    _inputs(add)
    add.set_defaults(func=run_add, parser=add, trailing="images")
    ls = sub.add_parser("list", help="list learned labels and their example counts")
    _common(ls, False)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    forget = sub.add_parser("forget", help="remove every example of LABEL (of every model, unless --model)")
    forget.add_argument("label", metavar="LABEL")
    _common(forget, False)
    forget.set_defaults(func=run_forget)
    export = sub.add_parser("export", help="write the embedding model with the learned classes as one .tflite")
    _common(export, False)
    export.add_argument("--output", "-o", required=True, metavar="DIR")
    export.add_argument("--name", default="learned", help="file stem (default: learned → DIR/learned.tflite)")
    export.add_argument("--method", choices=("imprint", "fit"), default="imprint",
                        help="imprint (default: normalised class means, works from one shot) or fit (softmax "
                             "regression; reports held-out accuracy with >= 5 examples a class)")
    export.add_argument("--keep-classes", metavar="CLASSIFIER.tflite",
                        help="extend this classifier (one `learn export` wrote): keep its classes")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=run_export)
    predict = sub.add_parser("predict", help="classify images or frames with the learned classes (numpy head)")
    _common(predict, False)
    _inputs(predict)
    predict.add_argument("--method", choices=("imprint", "fit"), default="imprint")
    predict.add_argument("--min-score", type=probability, default=0.0,
                         help="answer 'unknown' when the best class scores below this (0..1)")
    predict.add_argument("--consensus", type=positive_int, default=1,
                         help="answer a label only when the last N frames agree, else 'unknown'")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=run_predict, parser=predict, trailing="images")
