"""Hot swap on a video stream (a benchmark, not a test): ``python benchmarks/store_swap.py [--model M]``.

Streams Debian's vtest.avi through ``Classifier("store:bench")`` (MODEL, default the int8 EfficientNet-Lite0 the test
suite builds) and, every ``--every`` frames, installs and activates the next version (the same network, re-signed:
the new Classifier is built and warmed beside the running one, then swapped between two frames). Per swap it records
the largest interval between two consecutive results in the 5 results around the swap, against the median interval
of the whole run; it checks that frame indices stay continuous and ``model.version`` changes. Two runs: the video
as fast as the model goes, and ``--fps`` paced like a camera. Prints medians and the load average.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "build" / "test-cache" / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def run(model: Path, swaps: int, every: int, fps: float | None, tmp: Path) -> dict[str, float]:
    from edgeml.inference.classifier import Classifier
    from edgeml.store.bundle import create_bundle
    from edgeml.store.keys import generate_keys
    from edgeml.store.store import ModelStore
    from edgeml.streaming import Stream

    private, public = generate_keys(tmp / "keys")
    store = ModelStore(tmp / "store")
    store.trust(public)
    bundles = []
    for v in range(1, swaps + 2):
        bundles.append(tmp / f"bench-{v}.edgeml")
        create_bundle([model], name="bench", version=v, output=bundles[-1], key=private)
    store.install(bundles[0], activate=True)
    clf = Classifier("store:bench", store=store.root, num_threads=2)
    total = every * (swaps + 1)
    stream = Stream(f"video:{VTEST}", clf, top_k=1, max_frames=total, poll_s=0.05, fps=fps, loop=True)
    arrivals, versions, indices = [], [], []
    for r in stream:
        arrivals.append(time.perf_counter())
        versions.append((r.model or {}).get("version"))
        indices.append(r.index)
        if r.index % every == every // 2 and r.index // every < swaps:
            threading.Thread(target=store.install, args=(bundles[r.index // every + 1],),
                             kwargs={"activate": True}, daemon=True).start()
    assert indices == list(range(len(indices))), "frame indices not continuous"
    intervals = [b - a for a, b in itertools.pairwise(arrivals)]
    median = statistics.median(intervals)
    at = [i for i in range(1, len(versions)) if versions[i] != versions[i - 1]]
    assert len(at) == swaps, f"expected {swaps} swaps, saw {len(at)}"
    gaps = [max(intervals[max(0, i - 3):i + 2]) for i in at]
    return {"frames": len(indices), "median_ms": median * 1e3, "gap_ms": statistics.median(gaps) * 1e3,
            "worst_gap_ms": max(gaps) * 1e3, "ratio": statistics.median(gaps) / median,
            "worst_ratio": max(gaps) / median}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT)
    ap.add_argument("--swaps", type=int, default=5)
    ap.add_argument("--every", type=int, default=60, help="frames between two swaps")
    ap.add_argument("--fps", type=float, default=15.0, help="the paced run's frame rate")
    args = ap.parse_args(argv)
    if not args.model.is_file() or not VTEST.is_file():
        print(f"needs {args.model} (make test builds it) and {VTEST} (Debian opencv-doc)", file=sys.stderr)
        return 2
    print(f"{args.model.name}: {args.swaps} swaps, one every {args.every} frames; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, fps in (("unpaced", None), (f"{args.fps:g} fps", args.fps)):
        with tempfile.TemporaryDirectory() as tmp:
            f = run(args.model, args.swaps, args.every, fps, Path(tmp))
        print(f"  {label:>8}: {f['frames']} frames, none dropped; median interval {f['median_ms']:.1f} ms; largest "
              f"interval at a swap: median {f['gap_ms']:.1f} ms ({f['ratio']:.2f}x), worst {f['worst_gap_ms']:.1f} ms "
              f"({f['worst_ratio']:.2f}x)")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
