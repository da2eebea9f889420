"""Soak the CLI stream: 100,000 frames through ``edgeml classify --source ...``, its memory sampled all along.

Not a test: it prints figures (``make soak``)::

    python benchmarks/soak.py --model tests/data/tiny_int8.tflite --frames 100000

For each source (``synthetic`` and vtest.avi looped, by default) it starts the real command
(``python -m edgeml classify --model M --source S --max-frames N --json --board none``), counts the JSON lines it
prints, and reads the child's resident set size (``VmRSS`` in ``/proc/PID/status``) every ``--interval`` seconds.
It reports RSS after the warm-up (the first ``--warmup`` of the frames), at the end and at its peak, the growth
from warm-up to end, and a least-squares slope over the samples after warm-up (MB per 100,000 frames), which one
late sample cannot skew. Figures go to stdout and, with ``--build``, to ``BUILD/soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of ``(frames, mb)`` points, in MB per frame (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def soak(model: str, source: str, frames: int, *, loop: bool, interval: float, warmup: float) -> dict[str, Any]:
    """Run one source for ``frames`` frames; return its figures."""
    cmd = [sys.executable, "-m", "edgeml", "classify", "--model", model, "--source", source, "--max-frames",
           str(frames), "--json", "--board", "none", "--threads", "1"] + (["--loop"] if loop else [])
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    seen = [0]

    def count() -> None:
        assert proc.stdout is not None
        for _ in proc.stdout:
            seen[0] += 1

    reader = threading.Thread(target=count, daemon=True)
    reader.start()
    samples: list[tuple[float, int, float]] = []
    while proc.poll() is None:
        mb = rss_mb(proc.pid)
        if mb:
            samples.append((time.monotonic() - start, seen[0], mb))
        time.sleep(interval)
    reader.join(10)
    stderr = proc.stderr.read() if proc.stderr is not None else ""
    seconds = time.monotonic() - start
    after = [(n, mb) for _, n, mb in samples if n >= warmup * frames]
    if proc.returncode != 0 or not after:
        raise SystemExit(f"{source}: exit {proc.returncode}, {seen[0]} frames; stderr: {stderr.strip()[-500:]}")
    return {"source": source, "model": model, "frames": seen[0], "seconds": round(seconds, 1),
            "fps": round(seen[0] / seconds, 1), "rss_first_mb": round(samples[0][2], 1),
            "rss_warm_mb": round(after[0][1], 1), "warm_at_frame": after[0][0], "rss_end_mb": round(after[-1][1], 1),
            "rss_peak_mb": round(max(mb for _, _, mb in samples), 1),
            "growth_mb": round(after[-1][1] - after[0][1], 2),
            "slope_mb_per_100k": round(slope(after) * 100_000, 2), "samples": len(samples),
            "stats": stderr.strip().splitlines()[-1] if stderr.strip() else ""}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "tests" / "data" / "tiny_int8.tflite"))
    p.add_argument("--frames", type=int, default=100_000)
    p.add_argument("--source", action="append", default=None,
                   help="source to soak (repeatable; default: synthetic and vtest.avi looped)")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between RSS samples (default: 0.5)")
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of the frames before the start figure")
    p.add_argument("--build", type=Path, default=None, help="write soak.json here")
    args = p.parse_args(argv)
    sources = args.source or ["synthetic"] + ([f"video:{VTEST}"] if VTEST.is_file() else [])
    load = os.getloadavg()
    print(f"soak: {args.frames} frames per source, model {args.model}, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}, RSS every {args.interval} s, start figure after {args.warmup:.0%} of the frames")
    results = []
    for source in sources:
        r = soak(args.model, source, args.frames, loop=source.startswith("video:"), interval=args.interval,
                 warmup=args.warmup)
        results.append(r)
        print(f"{source}: {r['frames']} frames in {r['seconds']} s ({r['fps']} fps); RSS {r['rss_first_mb']} MB at "
              f"start, {r['rss_warm_mb']} MB after warm-up (frame {r['warm_at_frame']}), {r['rss_end_mb']} MB at the "
              f"end, peak {r['rss_peak_mb']} MB: growth {r['growth_mb']:+} MB (fit: {r['slope_mb_per_100k']:+} MB per "
              f"100k frames)")
        print(f"  {r['stats']}")
    if args.build is not None:
        args.build.mkdir(parents=True, exist_ok=True)
        (args.build / "soak.json").write_text(json.dumps({"load_average": load, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
