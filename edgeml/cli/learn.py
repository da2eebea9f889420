"""``edgeml learn``: teach new classes on the device from a few images or frames; export them as one .tflite."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edgeml.cli._args import positive_int, probability


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


def _session(args: argparse.Namespace) -> Any:
    from edgeml.learn.session import LearnSession

    return LearnSession(args.model, args.store)


def _check_inputs(args: argparse.Namespace) -> None:
    if bool(args.images) == bool(args.source):
        args.parser.error("give either IMAGE files / folders or --source SRC (exactly one of them)")


def run_add(args: argparse.Namespace) -> int:
    session = _session(args)
    _check_inputs(args)
    try:
        before = session.examples.get(args.label)
        if args.source:
            total = session.add_source(args.label, args.source, args.frames)
        else:
            total = session.add(args.label, args.images)
    finally:
        session.close()
    added = total - (before.count if before else 0)
    print(f"{args.label}: +{added} example{'s' if added != 1 else ''} ({total} in all) for {session.file.path.name}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from edgeml.learn.examples import ExampleStore, model_key
    from edgeml.model import ModelFile

    only = model_key(ModelFile.open(args.model)) if args.model is not None else None
    rows = ExampleStore.summary(args.store, only)
    for row in rows:
        print(json.dumps(row) if args.json else f"{row['label']}\t{row['examples']}\t{row['model']} ({row['key']})")
    if not rows and not args.json:
        print("nothing learned yet (edgeml learn add LABEL --model EMBEDDING.tflite IMAGES...)", file=sys.stderr)
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from edgeml.learn.examples import forget_everywhere

    if args.model is not None:
        session = _session(args)
        found = 1 if session.examples.forget(args.label) else 0
    else:
        found = forget_everywhere(args.label, args.store)
    if not found:
        from edgeml.errors import LearnError

        raise LearnError(f"No examples of {args.label!r} to forget (see `edgeml learn list`).")
    print(f"forgot {args.label!r} ({found} model{'s' if found != 1 else ''})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    session = _session(args)
    path, head = session.export(args.output, method=args.method, name=args.name, keep_classes=args.keep_classes)
    summary = {"path": str(path), "classes": list(head.labels), "method": head.method,
               "held_out_accuracy": head.held_out_accuracy, "held_out": head.held_out}
    if args.json:
        print(json.dumps(summary))
    else:
        acc = (f", held-out accuracy {head.held_out_accuracy:.1%} on {head.held_out} examples"
               if head.held_out_accuracy is not None else "")
        print(f"Wrote {len(head.labels)} classes ({head.method}{acc})", file=sys.stderr)
        print(path)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    session = _session(args)
    _check_inputs(args)
    try:
        for row in session.predict(args.images, args.source, args.frames, method=args.method,
                                   min_score=args.min_score, consensus=args.consensus):
            print(json.dumps(row) if args.json else f"{row['id']}\t{row['label']}\t{row['best']} {row['score']:.3f}")
    finally:
        session.close()
    return 0
