"""``edgeml index`` (add, remove) and ``edgeml similar``: find the known images that look like a new one."""

from __future__ import annotations

import argparse
import sys

from edgeml.cli._args import positive_int
from edgeml.cli._print import print_json
from edgeml.data_dir import index_file


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("index", help="build a similarity index of images (embeddings only)",
                              description="Add images (or stream frames) to a named similarity index, or remove "
                                          "them. Each vector is keyed by its image path or --id.")
    sub = p.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="embed images into index NAME (created if missing)")
    add.add_argument("name", metavar="NAME", help="index name (kept in the store) or a path ending in .edgeml-index")
    add.add_argument("--model", "-m", required=True, help="the embedding model")
    add.add_argument("images", nargs="*", metavar="IMAGE|DIR")
    add.add_argument("--source", help="take frames from a stream source instead")
    add.add_argument("--frames", type=positive_int, default=20, help="with --source: frames to take")
    add.add_argument("--id", action="append", help="id of each image instead of its path (repeat, in order)")
    add.add_argument("--dtype", choices=("float32", "float16", "int8"), default="float32",
                     help="storage of a new index (default: float32)")
    add.add_argument("--store", metavar="DIR")
    add.set_defaults(func=run_add, parser=add, trailing="images")
    rm = sub.add_parser("remove", help="remove vectors by id (or delete the whole index with --all)")
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("ids", nargs="*", metavar="ID")
    rm.add_argument("--all", action="store_true", help="delete the index file")
    rm.add_argument("--store", metavar="DIR")
    rm.set_defaults(func=run_remove, parser=rm, trailing="ids")

    s = subparsers.add_parser("similar", help="find the indexed images most similar to IMAGE",
                              description="Embed IMAGE and print the closest vectors of an index: id, path and "
                                          "cosine similarity.")
    s.add_argument("image", metavar="IMAGE")
    s.add_argument("--index", required=True, metavar="NAME")
    s.add_argument("--model", "-m", help="the embedding model (default: the one the index was built with)")
    s.add_argument("--top-k", type=positive_int, default=5)
    s.add_argument("--backend", choices=("auto", "exact", "usearch"), default=None,
                   help="exact numpy search or usearch's HNSW (default: by index size)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--store", metavar="DIR")
    s.set_defaults(func=run_similar)


def run_add(args: argparse.Namespace) -> int:
    from edgeml.similarity.build import add_to_index

    if bool(args.images) == bool(args.source):
        args.parser.error("give either IMAGE files / folders or --source SRC (exactly one of them)")
    path = index_file(args.name, args.store)
    index, added = add_to_index(path, args.model, args.images, args.source, args.frames, args.id, args.dtype)
    print(f"{args.name}: +{added} ({len(index)} vectors, {index.dimension}-d) → {path}", file=sys.stderr)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from edgeml.errors import IndexFileError
    from edgeml.similarity import Index

    path = index_file(args.name, args.store)
    if args.all:
        if not path.exists():
            raise IndexFileError(f"No index {args.name!r} ({str(path)!r}).")
        path.unlink()
        print(f"deleted {path}", file=sys.stderr)
        return 0
    if not args.ids:
        args.parser.error("give the ids to remove, or --all")
    index = Index.load(path)
    removed = index.remove(args.ids)
    index.save(path)
    print(f"{args.name}: -{removed} ({len(index)} vectors left)", file=sys.stderr)
    return 0 if removed else 1


def run_similar(args: argparse.Namespace) -> int:
    from edgeml.inference.embedder import Embedder
    from edgeml.similarity import Index

    index = Index.load(index_file(args.index, args.store), backend=args.backend)
    model = args.model or (index.model or {}).get("path")
    if model is None:
        from edgeml.errors import IndexFileError

        raise IndexFileError(f"{args.index!r} records no embedding model: pass --model EMBEDDING.tflite.")
    with Embedder(model) as embedder:
        hits = index.search(embedder.embed(args.image), args.top_k)
    for hit in hits:
        row = hit.to_dict()
        if args.json:
            print_json(row)
        else:
            print(f"{hit.score:.4f}\t{hit.id}")
    return 0
