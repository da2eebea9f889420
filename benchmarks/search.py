"""Similarity search at 10k, 100k and 1M vectors (1280-d): exact numpy vs usearch HNSW (a benchmark, not a test).

``make bench-search``. The vectors are synthetic but shaped like embeddings (:func:`mixture`: ``--clusters``
random unit centres, groups of ten near-duplicates around points of them); uniform random vectors would have no
neighbours worth finding. A query is a stored vector plus the same near-duplicate noise (a new shot of a known thing).
For each size it reports: build time (exact: storing; HNSW: graph construction on all cores), on-disk size of the
saved index (:meth:`edgeml.Index.save`), median and p95 latency of one query (k=10) for each backend, and recall@10
of HNSW against the exact answer. Storage is int8 at 1M (1.3 GB instead of 5 GB float32), as ``--dtype`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeml.similarity import Index


def mixture(rng: np.random.Generator, centres: np.ndarray, n: int, noise: float, chunk: int = 50_000):
    """Yield float32 unit vectors in chunks, in groups of 10 near-duplicates around a point of a random cluster.

    Two levels, like a photo collection (kinds of things, then bursts of shots of one thing): a group centre is a
    cluster centre plus noise (cosine ~0.7 to it), and each vector its group centre plus a quarter of that noise.
    """
    d = centres.shape[1]
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        groups = -(-m // 10)
        group = centres[rng.integers(0, len(centres), groups)] + rng.normal(0, noise / np.sqrt(d), (groups, d))
        x = np.repeat(group, 10, axis=0)[:m] + rng.normal(0, 0.25 * noise / np.sqrt(d), (m, d))
        yield (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def measure(index: Index, queries: np.ndarray, k: int) -> tuple[list[float], list[list[str]]]:
    times, hits = [], []
    for q in queries:
        start = time.perf_counter()
        found = index.search(q, k)
        times.append(time.perf_counter() - start)
        hits.append([h.id for h in found])
    return times, hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--noise", type=float, default=1.0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float32", "int8"],
                        help="storage per size (default: float32, float32, int8)")
    parser.add_argument("--expansion", type=int, nargs="+", default=[64, 128, 256, 512],
                        help="HNSW search expansions to sweep (recall vs latency, on stderr and in --save)")
    parser.add_argument("--report", type=int, default=None, help="the expansion the table reports (default: "
                        "edgeml.Index's choice by size)")
    parser.add_argument("--save", help="append one JSON line per size here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (args.clusters, args.dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    k = 10
    print(f"{'vectors':>9} {'dtype':>7} {'exact p50':>10} {'hnsw p50':>9} {'hnsw p95':>9} {'recall@10':>9} "
          f"{'build s':>8} {'file MB':>8}")
    for size, dtype in zip(args.sizes, args.dtype * len(args.sizes), strict=False):
        index = Index(args.dim, dtype=dtype, backend="exact")
        t0 = time.perf_counter()
        offset = 0
        firsts: list[np.ndarray] = []
        for chunk in mixture(rng, centres, size, args.noise):
            index.add_many([str(i) for i in range(offset, offset + len(chunk))], chunk)
            offset += len(chunk)
            firsts = firsts or [chunk]
        first = firsts[0]
        store_s = time.perf_counter() - t0
        near = first[rng.choice(len(first), args.queries, replace=False)]
        near = near + rng.normal(0, 0.25 * args.noise / np.sqrt(args.dim), near.shape)
        queries = (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)
        exact_t, exact_hits = measure(index, queries[: max(20, args.queries // (size // 10_000 or 1))], k)
        index.backend = "usearch"
        t0 = time.perf_counter()
        index.build()
        build_s = time.perf_counter() - t0
        sweep = {}
        for expansion in args.expansion:  # the graph is built once; only the search effort changes
            index.expansion = expansion
            t, hits = measure(index, queries, k)
            sweep[expansion] = (statistics.median(t), statistics.mean(
                len(set(a) & set(e)) / k for a, e in zip(hits, exact_hits, strict=False)))
            print(f"  expansion {expansion:4d}: p50 {1000 * sweep[expansion][0]:.2f} ms, recall@10 "
                  f"{sweep[expansion][1]:.3f}", file=sys.stderr, flush=True)
        index.expansion = args.report  # None: edgeml.Index's choice by size
        ann_t, ann_hits = measure(index, queries, k)
        recall = statistics.mean(len(set(a) & set(e)) / k for a, e in zip(ann_hits, exact_hits, strict=False))
        with tempfile.TemporaryDirectory() as tmp:
            path = index.save(Path(tmp) / "bench.edgeml-index")
            file_mb = path.stat().st_size / 2**20
        row = {"vectors": size, "dim": args.dim, "dtype": dtype, "exact_p50_ms": 1000 * statistics.median(exact_t),
               "exact_p95_ms": 1000 * float(np.percentile(exact_t, 95)),
               "hnsw_p50_ms": 1000 * statistics.median(ann_t), "hnsw_p95_ms": 1000 * float(np.percentile(ann_t, 95)),
               "recall_at_10": recall, "store_s": store_s, "hnsw_build_s": build_s, "file_mb": file_mb,
               "expansion": index.expansion, "sweep": {str(e): {"p50_ms": 1000 * t, "recall_at_10": r}
                                                         for e, (t, r) in sweep.items()},
               "loadavg": os.getloadavg()[0]}
        print(f"{size:9d} {dtype:>7} {row['exact_p50_ms']:9.2f}ms {row['hnsw_p50_ms']:8.2f}ms "
              f"{row['hnsw_p95_ms']:8.2f}ms {recall:9.3f} {build_s:8.1f} {file_mb:8.0f}", flush=True)
        if args.save:
            with open(args.save, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        del index
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; queries={args.queries}, k={k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
