"""What each ``edgeml learn ACTION`` does: open a learn session, call it, print what it says."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edgeml.cli._print import print_json

__all__ = ["run_add", "run_export", "run_forget", "run_list", "run_predict"]


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
        if args.json:
            print_json(row)
        else:
            print(f"{row['label']}\t{row['examples']}\t{row['model']} ({row['key']})")
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
        print_json(summary)
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
            if args.json:
                print_json(row)
            else:
                print(f"{row['id']}\t{row['label']}\t{row['best']} {row['score']:.3f}")
    finally:
        session.close()
    return 0
