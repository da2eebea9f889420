"""The time budgets the unit tests once asserted, as figures (a benchmark, not a test): ``make bench-budgets``.

The default test tier keeps only what does not depend on the machine's speed (nothing heavy is imported; a submit
or a publish never waits for a stuck sink or client; close returns although a sink is stuck; a bomb is refused
after reading at most its cap). How fast each of those is, is measured here, beside the budget the test once held
it to:

- ``import``: ``import edgeml, edgeml.cli`` in a fresh ``python``, best of ``--imports`` processes (budget 0.3 s;
  the first import in a process also pays for disk cache misses, hence the best);
- ``submit``: 200 :meth:`~edgeml.sinks.dispatch.Dispatcher.submit` calls while the only sink is stuck in ``write``
  (queue of 8: the rest are dropped and counted; budget 0.1 s for the 200);
- ``close``: :meth:`~edgeml.sinks.dispatch.Dispatcher.close` with ``timeout=1.0`` while the sink is stuck (budget 3 s);
- ``publish``: 100 :meth:`~edgeml.serve.hub.EventHub.observe` calls with one client that never reads (budget 0.5 s);
- ``metadata bomb``: a 300 MB ``labels.txt`` / ``edgeml.json`` deflated into a model's metadata zip, refused by
  :func:`edgeml.model.ModelFile.metadata` (budget 2 s each);
- ``oversized labels``: a 10 MB sidecar ``labels.txt`` for a 4-class model, refused by
  :func:`edgeml.labels.read_labels` (budget 1 s).

Each figure is the median of ``--repeat`` rounds (the import: the best). Prints a table and writes
``build/bench/budgets.json``. The machine is shared: compare runs on one machine at a similar load average.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "build" / "bench" / "budgets.json"
TINY = ROOT / "tests" / "data" / "tiny_int8.tflite"
_IMPORT = "import time; t = time.perf_counter(); import edgeml, edgeml.cli; print(time.perf_counter() - t)"


def _result(i: int) -> StreamResult:
    from edgeml.postprocess.classification import Classification
    from edgeml.streaming.stats import StreamResult

    return StreamResult(i, 1000.0 + i, (Classification(0, "a", 0.9),), 2.0, "synthetic",
                        model={"name": "m", "version": None})


class StuckSink:
    """A sink whose ``write`` blocks until :attr:`release` is set (a disk or broker that stopped answering)."""

    needs_network = False

    def __init__(self) -> None:
        from edgeml.sinks.emit import EmitPolicy

        self.name, self.policy = "stuck", EmitPolicy("every")
        self.entered, self.release = threading.Event(), threading.Event()

    def write(self, events: Sequence[dict[str, Any]]) -> None:
        self.entered.set()
        self.release.wait()

    def close(self, timeout: float = 5.0) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {}


def bench_import(n: int) -> float:
    times = [float(subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True, check=True,
                                  cwd=ROOT).stdout) for _ in range(n)]
    return min(times)


def bench_submit() -> float:
    from edgeml.sinks.dispatch import Dispatcher

    sink = StuckSink()
    d = Dispatcher([sink], queue_size=8).start()
    d.submit(_result(0))
    sink.entered.wait(10)
    results = [_result(i) for i in range(1, 201)]
    start = time.perf_counter()
    for r in results:
        d.submit(r)
    elapsed = time.perf_counter() - start
    sink.release.set()
    d.close(timeout=3.0)
    return elapsed


def bench_close() -> float:
    from edgeml.sinks.dispatch import Dispatcher

    sink = StuckSink()
    d = Dispatcher([sink]).start()
    for i in range(50):
        d.submit(_result(i))
    sink.entered.wait(10)
    start = time.perf_counter()
    d.close(timeout=1.0)
    elapsed = time.perf_counter() - start
    sink.release.set()
    return elapsed


def bench_publish() -> float:
    from edgeml.serve.hub import EventHub

    hub = EventHub(min_interval_s=0.0, heartbeat_s=3600.0, queue_size=8)
    result = _result(0)

    async def scenario() -> float:
        hub.subscribe()  # never read

        def publish() -> float:
            start = time.perf_counter()
            for _ in range(100):
                hub.observe(result)
            return time.perf_counter() - start

        return await asyncio.get_running_loop().run_in_executor(None, publish)

    return asyncio.run(scenario())


def _bomb(member: str) -> bytes:
    """The real tiny model with a zip appended whose one member inflates to 300 MB (about 300 KB deflated)."""
    buffer = io.BytesIO()
    filler = b"z\n" if member == "labels.txt" else b" "
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, z.open(member, "w") as f:
        for _ in range(300):
            f.write(filler * ((1 << 20) // len(filler)))
    return TINY.read_bytes() + buffer.getvalue()


def bench_bomb(data: bytes) -> float:
    from edgeml.errors import ModelFormatError
    from edgeml.model import ModelFile

    start = time.perf_counter()
    try:
        model = ModelFile.from_bytes(data, "bomb.tflite")
        model.verify()
        model.metadata  # noqa: B018 - reading it is what is measured
    except ModelFormatError:
        return time.perf_counter() - start
    raise SystemExit("the metadata bomb was not refused: run tests/unit/model/test_metadata_damage.py")


def bench_labels(path: Path) -> float:
    from edgeml.errors import LabelsError
    from edgeml.labels import read_labels

    start = time.perf_counter()
    try:
        read_labels(path, max_classes=4)
    except LabelsError:
        return time.perf_counter() - start
    raise SystemExit("the oversized labels file was not refused: run tests/unit/model/test_metadata_damage.py")


def _median(fn: Callable[[], float], repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds per figure (median)")
    parser.add_argument("--imports", type=int, default=5, help="fresh processes for the import figure (best)")
    parser.add_argument("--save", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "labels.txt"
        labels.write_bytes(b"x\n" * 5_000_000)
        bombs = {member: _bomb(member) for member in ("labels.txt", "edgeml.json")}
        rows = [
            ("import edgeml, edgeml.cli", bench_import(args.imports), 0.3),
            ("200 submits, sink stuck", _median(bench_submit, args.repeat), 0.1),
            ("close(timeout=1.0), sink stuck", _median(bench_close, args.repeat), 3.0),
            ("100 publishes, client stuck", _median(bench_publish, args.repeat), 0.5),
        ]
        for member, data in bombs.items():
            rows.append((f"metadata bomb ({member}, 300 MB)",
                         _median(functools.partial(bench_bomb, data), args.repeat), 2.0))
        rows.append(("oversized labels.txt (10 MB)",
                     _median(functools.partial(bench_labels, labels), args.repeat), 1.0))
    load = os.getloadavg()[0]
    print(f"Time budgets the unit tests once asserted (load average {load:.1f}; median of {args.repeat}, "
          f"import: best of {args.imports})")
    print(f"  {'what':<36}{'seconds':>10}{'budget':>9}{'share':>8}")
    for what, seconds, budget in rows:
        print(f"  {what:<36}{seconds:>10.4f}{budget:>8.1f}s{seconds / budget:>8.0%}")
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps({"load_average": load, "repeat": args.repeat, "figures": [
        {"what": what, "seconds": seconds, "budget_s": budget} for what, seconds, budget in rows]}, indent=2) + "\n")
    print(f"saved {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
