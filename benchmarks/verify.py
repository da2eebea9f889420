"""What the model verifier costs (a benchmark, not a test): ``python benchmarks/verify.py [MODEL...]``.

Per model, medians over ``--repeat`` interleaved rounds in one process (so both see the same machine load):

- ``verify``: structure + meaning on a fresh :class:`~edgeml.model.ModelFile` (no cache), split into its passes;
- ``Classifier``: ``edgeml.Classifier(path)`` construction, warm (the interpreter library already loaded), which
  includes reading the file, the verifier, the metadata and the interpreter's own load;
- ``cold``: the first ``Classifier(path)`` in a fresh ``python`` process after ``import edgeml`` (the interpreter
  library's load included), and the verifier's part of it (its first calls, the schema tables built), median of
  ``--cold`` processes: what a kiosk pays when it starts.

The verifier's share is ``verify / Classifier``. The machine's load average is printed: it is shared, and
absolute times drift with it; the ratio holds better.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "build" / "test-cache" / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite",
           ROOT / "build" / "test-cache" / "edgetpu" / "mobilenet_v2" / "mobilenet_v2_int8.tflite",
           ROOT / "build" / "test-cache" / "fashion" / "int8" / "fashion_cnn_int8.tflite"]
_COLD = """
import json, sys, time
import edgeml
from edgeml.model import file as model_file
spent = []
verify = model_file.ModelFile.verify
def timed(self, runtime=True):
    t = time.perf_counter()
    try:
        return verify(self, runtime)
    finally:
        spent.append(time.perf_counter() - t)
model_file.ModelFile.verify = timed
t0 = time.perf_counter()
edgeml.Classifier(sys.argv[1]).close()
print(json.dumps({"classifier": time.perf_counter() - t0, "verify": sum(spent)}))
"""

def _warm(path: Path, repeat: int) -> dict[str, float]:
    import edgeml
    from edgeml.model import ModelFile
    from edgeml.model.verify import check_layout, check_structure

    data = path.read_bytes()
    edgeml.Classifier(path).close()  # load the interpreter library once
    rows: dict[str, list[float]] = {"structure": [], "meaning": [], "verify": [], "classifier": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        layout = check_structure(data)
        t1 = time.perf_counter()
        check_layout(layout)
        t2 = time.perf_counter()
        ModelFile.from_bytes(data).verify()
        t3 = time.perf_counter()
        edgeml.Classifier(path).close()
        t4 = time.perf_counter()
        for key, value in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            value_ms = 1000 * value
            rows[key].append(value_ms)
    return {key: statistics.median(values) for key, values in rows.items()}


def _cold(path: Path, runs: int) -> dict[str, float]:
    got = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _COLD, str(path)], capture_output=True, text=True, check=True,
                              cwd=ROOT)
        got.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: 1000 * statistics.median(g[key] for g in got) for key in got[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=30, help="warm rounds per model")
    parser.add_argument("--cold", type=int, default=5, help="fresh processes per model")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores); medians; ms")
    print(f"{'model':<34} {'size':>8} {'structure':>9} {'meaning':>8} {'verify':>7} {'Classifier':>10} {'share':>6}"
          f"  {'cold verify':>11} {'cold Classifier':>15} {'share':>6}")
    for path in args.models:
        if not path.is_file():
            print(f"{path.name}: missing (make test builds it)")
            continue
        warm, cold = _warm(path, args.repeat), _cold(path, args.cold)
        print(f"{path.name:<34} {path.stat().st_size / 1e6:>7.2f}M {warm['structure']:>9.2f} {warm['meaning']:>8.2f} "
              f"{warm['verify']:>7.2f} {warm['classifier']:>10.2f} {warm['verify'] / warm['classifier']:>6.1%}"
              f"  {cold['verify']:>11.2f} {cold['classifier']:>15.1f} {cold['verify'] / cold['classifier']:>6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
