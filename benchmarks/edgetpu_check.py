"""Time the offline Edge TPU check (a benchmark, not a test): ``python -m edgeml_converters.edgetpu_bench MODEL...``.

Prints, per model, the median and max wall time of :func:`edgeml.edgetpu.check.check_model` (read + parse +
rules) over ``--repeat`` runs in this process, and the verdict.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from edgeml.edgetpu.check import check_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    for path in args.models:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = check_model(path)
            times.append(time.perf_counter() - start)
        print(f"{path}: check median {1000 * statistics.median(times):.1f} ms, max {1000 * max(times):.1f} ms "
              f"({report.total} ops): {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
