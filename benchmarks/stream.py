"""Benchmark the streaming loop: throughput as a fraction of bare ``invoke()``, CPU split, memory over a long run.

Not a test: it prints figures (``make bench-stream``)::

    python benchmarks/stream.py --model build/models/efficientnet_lite0/efficientnet_lite0_int8.tflite

For each source (``synthetic``, a 320x240 MJPG video made from vtest.avi, vtest.avi itself, 768x576 DivX) and each
thread split (interpreter threads x FFmpeg decoder threads), it runs the stream as fast as possible and reports
frames/s divided by 1 / bare-invoke time, the bare invoke being measured in the same process right before and after
(its mean is used: the machine may be shared, so both figures see the same noise). CPU time is read per thread
from ``/proc/self/task``: the capture thread (decode), the inference thread (preprocess, invoke's own share,
postprocess) and every other thread (the interpreter's worker pool, FFmpeg's decoder threads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeml._optional import require
from edgeml.inference.classifier import Classifier
from edgeml.settings import resolve_settings
from edgeml.streaming import Stream

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def small_video(path: Path, size: tuple[int, int] = (320, 240), frames: int = 300) -> Path:
    """Write the first ``frames`` of vtest.avi resized to ``size`` as MJPG (once; reused afterwards)."""
    if path.is_file():
        return path
    cv2 = require("cv2", "making the benchmark video")
    path.parent.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(VTEST))
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size)
    for _ in range(frames):
        ok, img = cap.read()
        if not ok:
            break
        out.write(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
    out.release()
    cap.release()
    return path


def bare_invoke_ms(clf: Classifier, n: int = 200, window: int = 50) -> tuple[float, float]:
    """Time ``invoke()`` alone over ``n`` back-to-back calls on a fixed input (no pre/postprocessing).

    Returns:
        ``(mean_ms, best_window_ms)``: the mean over all calls, and the mean over the fastest ``window``
        consecutive calls (the least disturbed stretch on a shared machine).
    """
    clf.invoke(np.zeros(clf.input.shape, clf.input.dtype))
    interp = clf.interpreter  # the bare call is the point of the measurement
    stamps = [time.perf_counter()]
    for _ in range(n):
        interp.invoke()
        stamps.append(time.perf_counter())
    return (stamps[-1] - stamps[0]) / n * 1000.0, _best_window(stamps, window) * 1000.0


def _best_window(stamps: list[float], window: int) -> float:
    """Shortest mean interval over ``window`` consecutive intervals of the time stamps."""
    w = min(window, len(stamps) - 1)
    return min(stamps[i + w] - stamps[i] for i in range(len(stamps) - w)) / w


def _task_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every thread of this process, by native thread id."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def run_stream(spec: str, clf: Classifier, frames: int, warmup: int = 30, **options: Any) -> dict[str, float]:
    """Stream ``spec`` as fast as possible; return frames/s after warm-up and the CPU split over that window.

    The measurements are taken in the result callback, on the inference thread, so both stream threads are
    alive when their CPU time is read (the results queue would let the main thread lag behind them).
    """
    stamps: list[float] = []
    cpu: list[dict[int, float]] = []

    def on_result(_result: Any) -> None:
        if cpu:
            stamps.append(time.perf_counter())
            if len(stamps) == frames + 1:
                cpu.append(_task_cpu())
        elif stream.stats.frames == warmup:
            cpu.append(_task_cpu())
            stamps.append(time.perf_counter())

    stream = Stream(spec, clf, top_k=5, max_frames=frames + warmup, on_result=on_result, **options)
    stream.start()
    ids = {t.name: t.native_id or 0 for t in stream._threads}
    stream.run()
    wall = stamps[-1] - stamps[0]
    used = {tid: cpu[1].get(tid, 0.0) - cpu[0].get(tid, 0.0) for tid in cpu[1]}
    capture = used.pop(ids.get("edgeml-capture", -1), 0.0)
    infer = used.pop(ids.get("edgeml-infer", -1), 0.0)
    used.pop(threading.main_thread().native_id or 0, None)
    return {"fps": (len(stamps) - 1) / wall, "best_fps": 1.0 / _best_window(stamps, 50),
            "wall": wall, "cpu_capture": capture / wall, "cpu_infer": infer / wall,
            "cpu_other": sum(used.values()) / wall}


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def memory_run(clf: Classifier, spec: str, frames: int) -> None:
    """Report RSS after a warm-up and over ``frames`` frames of a looping video."""
    samples: list[tuple[int, float]] = []
    warm = 1000

    def on_result(result: Any) -> None:
        n = stream.stats.frames
        if n == warm or n % 2000 == 0:
            samples.append((n, rss_mb()))

    stream = Stream(spec, clf, top_k=5, max_frames=frames + warm, loop=True, on_result=on_result)
    t = time.perf_counter()
    stream.run()
    start = next(mb for n, mb in samples if n == warm)
    print(f"\nmemory: {spec} looping, {frames} frames after a {warm}-frame warm-up in {time.perf_counter() - t:.0f} s: "
          f"RSS {start:.1f} -> {samples[-1][1]:.1f} MB (growth {samples[-1][1] - start:+.2f} MB); "
          f"samples {[(n, round(mb, 1)) for n, mb in samples]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/stream.py", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="build/models/efficientnet_lite0/efficientnet_lite0_int8.tflite")
    parser.add_argument("--frames", type=int, default=400, help="frames per measurement (after 30 warm-up)")
    parser.add_argument("--build", default="build/bench", help="where the 320x240 video is written")
    parser.add_argument("--memory-frames", type=int, default=20000, help="frames for the RSS run (0: skip)")
    parser.add_argument("--rounds", type=int, default=3, help="bare/stream/bare rounds per setting (median)")
    parser.add_argument("--threads", default="board,1,2",
                        help="interpreter thread counts to try; 'board': what this machine's profile chooses "
                             "(edgeml classify's default)")
    parser.add_argument("--decode-threads", default="1,0", help="FFmpeg decoder threads to try (0: OpenCV default)")
    args = parser.parse_args(argv)

    cv2 = require("cv2", "the stream benchmark")
    cv2.setNumThreads(1)  # cv2.resize on a 224 crop gains nothing from a pool that competes with the interpreter
    small = small_video(Path(args.build) / "vtest_320x240_mjpg.avi")
    sources = [("synthetic", {}), (f"video:{small}", {"loop": True}), (f"video:{VTEST}", {"loop": True})]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (shared machine: figures are noisy); "
          f"model {args.model}")
    print("ratio = stream frames/s x bare invoke time, median of the rounds; 'mean' over whole runs, 'best' over the "
          "least disturbed 50-frame stretch of each (the closest a shared machine gets to a quiet one)")
    print(f"{'source':<46} {'thr':>3} {'dec':>3} {'bare ms':>8} {'fps':>7} {'mean':>5} {'best':>5}  "
          "cpu: capture infer other")
    best: dict[str, tuple[float, str]] = {}
    board_threads = resolve_settings(board="auto").threads
    print(f"board profile {resolve_settings(board='auto').board}: {board_threads} interpreter thread(s)")
    counts = [board_threads if t == "board" else int(t) for t in args.threads.split(",")]
    for threads in dict.fromkeys(c for c in counts if c is not None):  # once each, in order
        clf = Classifier(args.model, num_threads=threads)
        for spec, opts in sources:
            for dec in ((int(d) for d in args.decode_threads.split(",")) if spec.startswith("video:") else [0]):
                options = dict(opts, decode_threads=dec) if spec.startswith("video:") else dict(opts)
                rows = []
                for _ in range(args.rounds):  # bare, stream, bare: interleaved so both see the same load
                    b0, w0 = bare_invoke_ms(clf, args.frames)
                    r = run_stream(spec, clf, args.frames, **options)
                    b1, w1 = bare_invoke_ms(clf, args.frames)
                    rows.append((r["fps"] * (b0 + b1) / 2000.0, r["best_fps"] * min(w0, w1) / 1000.0, r))
                ratio = statistics.median(x[0] for x in rows)
                best_ratio = statistics.median(x[1] for x in rows)
                r = sorted(rows, key=lambda x: x[0])[len(rows) // 2][2]
                bare = min(w0, w1)
                label = spec if len(spec) < 46 else "..." + spec[-43:]
                print(f"{label:<46} {threads:>3} {dec or 'def':>3} {bare:8.2f} {r['fps']:7.1f} {ratio:5.2f} "
                      f"{best_ratio:5.2f}  "
                      f"{r['cpu_capture']:5.0%} {r['cpu_infer']:5.0%} {r['cpu_other']:5.0%}", flush=True)
                if best_ratio > best.get(spec, (0.0, ""))[0]:
                    best[spec] = (best_ratio, f"threads={threads} decode_threads={dec or 'default'}, "
                                              f"mean ratio {ratio:.2f}, bare {bare:.2f} ms")
        clf.close()
    print("\nbest setting per source ('best' ratio):")
    for spec, (ratio, how) in best.items():
        print(f"  {ratio:.2f}  {spec}  ({how})")
    if args.memory_frames:
        memory_run(Classifier(args.model, num_threads=board_threads), f"video:{VTEST}", args.memory_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
