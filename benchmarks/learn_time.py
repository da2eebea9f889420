"""Time on-device learning: add a class from 20 frames (invokes excluded and included), 10 × 20, and export.

A benchmark, not a test (``make bench-learn``). Frames are the first 200 of Debian's opencv-doc ``vtest.avi``
(768×576), decoded into memory beforehand, so file decoding is not timed. Each figure is the median of
``--repeat`` runs in one process, against a fresh temporary store:

- *add, invokes excluded*: store 20 embeddings already computed (one 0600 file written) + learn the imprinted head
  over every class stored so far;
- *add, invokes included*: the same, plus computing the 20 embeddings (preprocess + ``invoke()`` each);
- *10 classes × 20 frames*: embed 200 frames, store them as 10 classes, imprint (Coral's published figure for this
  on a Pi 4 with a USB Accelerator: 987 ms);
- *export*: write the .tflite with 10 imprinted classes (head quantized, flatbuffer extended, metadata embedded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import edgeml
from edgeml.frame import Frame
from edgeml.learn.session import LearnSession

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def frames(n: int) -> list[Frame]:
    from edgeml.sources import open_source

    out: list[Frame] = []
    with open_source(f"video:{VIDEO}") as source:
        while len(out) < n:
            frame = source.read()
            if frame is None:
                break
            out.append(Frame(np.array(frame.pixels, copy=True), frame.format))
    return out


def median_ms(times: list[float]) -> str:
    return f"{1000 * statistics.median(times):8.1f} ms (p95 {1000 * float(np.percentile(times, 95)):.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    video = frames(200)
    embedder = edgeml.Embedder(args.model)
    excluded, included, ten, export = [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            session = LearnSession(args.model, Path(tmp) / "store", embedder=embedder)  # one interpreter for all
            for k in range(9):  # nine classes already learned, as in a running kiosk
                session.add_vectors(f"class{k}", np.stack([embedder.embed(f) for f in video[20 * k:20 * k + 20]]))
            vectors = np.stack([embedder.embed(f) for f in video[180:200]])
            t0 = time.perf_counter()
            session.add_vectors("new", vectors)
            session.head("imprint")
            excluded.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            session.add_vectors("new2", np.stack([embedder.embed(f) for f in video[180:200]]))
            session.head("imprint")
            included.append(time.perf_counter() - t0)
            session.examples.forget("new2")
            t0 = time.perf_counter()
            session.export(Path(tmp) / "out")
            export.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp:
            session = LearnSession(args.model, Path(tmp) / "store", embedder=embedder)
            t0 = time.perf_counter()
            for k in range(10):
                session.add_vectors(f"class{k}", np.stack([embedder.embed(f) for f in video[20 * k:20 * k + 20]]))
            session.head("imprint")
            ten.append(time.perf_counter() - t0)
    invoke = [embedder.run(video[0]).timings.invoke for _ in range(20)]
    print(f"add a class from 20 frames, invokes excluded: {median_ms(excluded)}")
    print(f"add a class from 20 frames, invokes included: {median_ms(included)}")
    print(f"10 classes x 20 frames (embed + imprint):     {median_ms(ten)}   (Coral, Pi 4 + USB Accelerator: 987 ms)")
    print(f"export the .tflite (10 classes):              {median_ms(export)}")
    print(f"one invoke() of {Path(args.model).name}: {1000 * statistics.median(invoke):.2f} ms; "
          f"{args.repeat} runs; load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
