"""What the results sinks cost the inference loop: frames/s of a real stream with and without ``--output``.

Not a test: it prints figures (``make bench-fleet``)::

    python benchmarks/fleet.py --model build/models/efficientnet_lite0/efficientnet_lite0_int8.tflite

The stream is the CLI's own loop (``Stream`` + the ``Dispatcher`` of ``edgeml classify --output``) on vtest.avi
looped, 2 interpreter threads, ``--emit every`` (the worst case: one event per frame; ``change`` sends a few per
minute). Each configuration runs ``--frames`` frames, and the configurations are interleaved over ``--rounds``
rounds (none, jsonl, mqtt, jsonl+mqtt, none, ...) so a busy moment of the shared machine hits them alike; the
medians are compared with the no-sink median. The MQTT sink publishes through its SQLite outbox (synchronous=FULL,
one transaction per batch) to a real mosquitto on 127.0.0.1 (tests/mosquitto.py), which a subscriber-less broker
acknowledges at once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgeml.inference.classifier import Classifier  # noqa: E402
from edgeml.sinks import open_sinks, parse_output  # noqa: E402
from edgeml.sinks.dispatch import Dispatcher  # noqa: E402
from edgeml.sinks.events import EventStamp  # noqa: E402
from edgeml.streaming import Stream  # noqa: E402

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def run_once(clf: Classifier, outputs: list[str], frames: int, store: Path) -> dict[str, Any]:
    """One stream of ``frames`` frames with ``outputs`` as sinks; frames/s from the first to the last result."""
    sinks = open_sinks(parse_output(outputs), store=store, device="bench", emit="every", heartbeat_s=0)
    stream = Stream(f"video:{VTEST}", clf, top_k=5, max_frames=frames, loop=True)
    dispatcher = Dispatcher(sinks, EventStamp("bench"), stats=lambda: stream.stats.to_dict()).start()
    first = last = 0.0
    n = 0
    for result in stream:
        dispatcher.submit(result)
        last = time.perf_counter()
        if n == 0:
            first = last
        n += 1
    t = time.perf_counter()
    dispatcher.close(timeout=30.0)
    status = dispatcher.status()
    return {"fps": (n - 1) / (last - first), "close_s": time.perf_counter() - t,
            "dropped": status["dispatch_dropped"], "sinks": status["sinks"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--frames", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save", default=str(ROOT / "build" / "bench" / "fleet.json"))
    args = p.parse_args(argv)

    from tests.mosquitto import Mosquitto, available

    work = Path(tempfile.mkdtemp(prefix="edgeml-bench-fleet-"))
    broker = Mosquitto(work / "broker").start() if available() else None
    configs: dict[str, list[str]] = {"none": [], "jsonl": [f"jsonl:{work}/results.jsonl"]}
    if broker is not None:
        configs["mqtt"] = [f"mqtt://127.0.0.1:{broker.port}/edgeml/bench"]
        configs["jsonl+mqtt"] = configs["jsonl"] + configs["mqtt"]
    else:
        print("mosquitto or paho-mqtt missing: the MQTT rows are skipped (make test installs both)", file=sys.stderr)
    clf = Classifier(args.model, num_threads=args.threads)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    try:
        run_once(clf, [], 200, work)  # warm-up: decoder, interpreter, page cache
        for r in range(args.rounds):
            for name, outputs in configs.items():
                runs[name].append(run_once(clf, outputs, args.frames, work / f"store-{name}-{r}"))
                print(f"round {r + 1} {name:>11}: {runs[name][-1]['fps']:7.1f} frames/s", file=sys.stderr)
    finally:
        if broker is not None:
            broker.stop()
    base = statistics.median(x["fps"] for x in runs["none"])
    print(f"\nsink cost on the inference loop: {Path(args.model).name}, vtest.avi looped, {args.threads} threads, "
          f"--emit every, {args.frames} frames x {args.rounds} rounds (medians)")
    print(f"{'--output':>12} | {'frames/s':>8} | {'vs none':>7} | {'dropped':>7} | {'close s':>7}")
    table = {}
    for name, xs in runs.items():
        fps = statistics.median(x["fps"] for x in xs)
        dropped = sum(x["dropped"] for x in xs)
        close = statistics.median(x["close_s"] for x in xs)
        table[name] = {"fps": fps, "ratio": fps / base, "dropped": dropped, "close_s": close,
                       "all_fps": [round(x["fps"], 1) for x in xs]}
        print(f"{name:>12} | {fps:8.1f} | {fps / base:7.3f} | {dropped:7d} | {close:7.2f}")
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    Path(args.save).write_text(json.dumps({"model": args.model, "frames": args.frames, "rounds": args.rounds,
                                           "threads": args.threads, "results": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
