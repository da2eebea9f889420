"""What the MQTT outbox sustains (a benchmark, not a test): ``python benchmarks/fleet_outbox.py [--events N]``.

Two figures, on this machine's disk and a local Debian mosquitto (started with ``tests/mosquitto.py``):

- ``put_many``: durable commits of the SQLite outbox alone (WAL, ``synchronous=FULL``, one transaction per batch)
  at batch sizes 1, 16 and 256: commits/s and events/s.
- ``end to end``: N schema-1-sized events written to an :class:`~edgeml.sinks.mqtt.MqttSink` in batches of
  ``--batch``, timed until the broker has acknowledged every one (the outbox is empty): events/s.

Prints a table and writes ``build/bench/fleet_outbox.json``. Absolute figures depend on the disk's fsync latency
(an SD card is far slower than this machine's SSD); compare runs on one machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "build" / "bench" / "fleet_outbox.json"


def _event(i: int) -> dict[str, object]:
    """An event of the size the stream sends (top-5 labels, about 450 bytes of JSON)."""
    return {"schema": 1, "id": f"bench-0a1b2c3d-{i}", "seq": i, "type": "result", "device": "bench",
            "model": {"name": "fashion_cnn_int8", "version": 3}, "frame": i, "captured_at": 1764700000.123456,
            "emitted_at": 1764700000.130001, "latency_ms": 6.5,
            "labels": [{"label": f"label{k}", "score": round(0.9 / (k + 1), 6), "index": k} for k in range(5)]}


def bench_put_many(tmp: Path, batch: int, seconds: float) -> dict[str, float]:
    from edgeml.sinks.outbox import Outbox

    box = Outbox(tmp / f"put-{batch}.sqlite3")
    events = [_event(i) for i in range(batch)]
    commits, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        box.put_many(events)
        commits += 1
    elapsed = time.perf_counter() - start
    box.close()
    return {"batch": batch, "commits_per_s": commits / elapsed, "events_per_s": commits * batch / elapsed,
            "ms_per_commit": 1000 * elapsed / commits}


def bench_end_to_end(tmp: Path, n: int, batch: int) -> dict[str, float]:
    from edgeml.sinks.emit import EmitPolicy
    from edgeml.sinks.mqtt import MqttSink
    from tests.mosquitto import Mosquitto

    broker = Mosquitto(tmp / "broker").start()
    try:
        sink = MqttSink(f"{broker.url}/edgeml/bench", store=tmp / "store", policy=EmitPolicy("every"),
                        device="bench", discovery=False, max_events=max(n, 100_000))
        while not sink.status()["connected"]:
            time.sleep(0.01)
        start = time.perf_counter()
        for i in range(0, n, batch):
            sink.write([_event(j) for j in range(i, min(n, i + batch))])
        written = time.perf_counter() - start
        while sink.outbox.depth():
            time.sleep(0.005)
            if time.perf_counter() - start > 300:
                raise TimeoutError(f"{sink.outbox.depth()} events still unacknowledged after 300 s")
        elapsed = time.perf_counter() - start
        status = sink.status()
        sink.close(5)
    finally:
        broker.kill()
    return {"events": n, "batch": batch, "seconds": elapsed, "events_per_s": n / elapsed,
            "write_events_per_s": n / written, "sent": status["sent"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000, help="events for the end-to-end run (default: 20000)")
    ap.add_argument("--batch", type=int, default=64, help="events per write in the end-to-end run (default: 64)")
    ap.add_argument("--seconds", type=float, default=2.0, help="duration of each put_many run (default: 2)")
    args = ap.parse_args(argv)
    from tests.mosquitto import available

    if not available():
        print("needs Debian's mosquitto and paho-mqtt >= 2 (make test installs them)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="edgeml-bench-outbox-") as name:
        tmp = Path(name)
        puts = [bench_put_many(tmp, b, args.seconds) for b in (1, 16, 256)]
        e2e = bench_end_to_end(tmp, args.events, args.batch)
    print(f"{'put_many batch':>15} {'commits/s':>10} {'events/s':>10} {'ms/commit':>10}")
    for r in puts:
        print(f"{r['batch']:>15} {r['commits_per_s']:>10.0f} {r['events_per_s']:>10.0f} {r['ms_per_commit']:>10.2f}")
    print(f"end to end: {e2e['events']} events in batches of {e2e['batch']} acknowledged by mosquitto in "
          f"{e2e['seconds']:.2f} s = {e2e['events_per_s']:.0f} events/s (writes alone {e2e['write_events_per_s']:.0f}"
          f" events/s)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"put_many": puts, "end_to_end": e2e, "load_average": os.getloadavg()}, indent=2))
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
