"""What installing a signed bundle costs (a benchmark, not a test): ``python benchmarks/store.py [MODEL]``.

Builds a signed bundle of MODEL (default: the int8 EfficientNet-Lite0 the test suite builds) with its labels, then,
for ``--repeat`` rounds, times each part of ``edgeml models install`` separately:

- ``signature``: Ed25519 over the canonical manifest (``check_signature``: parse, look up the key, verify);
- ``hashes``: SHA-256 of every file the manifest lists (read from the unpacked copy, page cache warm);
- ``unpack``: the whole bundle reader: every header, the signature, each file copied and hashed on the way;
- ``verifier``: the static model verifier on a fresh ModelFile (structure + meaning);
- ``probe``: load + allocate + one invoke on a golden input in a child process;
- ``install``: ``ModelStore.install`` end to end into a fresh store (all of the above, plus fsync and rename).

Prints medians (and min/max) in seconds and the load average: the machine is shared, absolute times drift.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "build" / "test-cache" / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    if not args.model.is_file():
        print(f"{args.model} is missing: run `make test` (the test suite builds it) or pass a model", file=sys.stderr)
        return 2

    from edgeml.interpreter.probe import probe_model
    from edgeml.model import ModelFile
    from edgeml.store.bundle import unpack
    from edgeml.store.keys import check_signature, generate_keys, trusted_keys
    from edgeml.store.store import ModelStore

    parts: dict[str, list[float]] = {k: [] for k in ("signature", "hashes", "unpack", "verifier", "probe", "install")}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        private, public = generate_keys(tmp / "keys")
        extra = [args.model.parent / "labels.txt"] if (args.model.parent / "labels.txt").is_file() else []
        from edgeml.store.bundle import create_bundle
        path = tmp / "model-1.edgeml"
        create_bundle([args.model, *extra], name="bench", version=1, output=path, key=private)
        for r in range(args.repeat):
            store = ModelStore(tmp / f"store{r}")
            store.trust(public)
            trusted = trusted_keys(store.root)
            dest = tmp / f"unpacked{r}"
            dest.mkdir()
            t = time.perf_counter()
            unpack(path, dest, trusted)
            parts["unpack"].append(time.perf_counter() - t)
            manifest, signature = (dest / "manifest.json").read_bytes(), (dest / "manifest.sig").read_bytes()
            t = time.perf_counter()
            check_signature(signature, manifest, trusted)
            parts["signature"].append(time.perf_counter() - t)
            t = time.perf_counter()
            for f in sorted(dest.iterdir()):
                if f.name not in ("manifest.json", "manifest.sig"):
                    hashlib.sha256(f.read_bytes()).hexdigest()
            parts["hashes"].append(time.perf_counter() - t)
            model = dest / args.model.name
            t = time.perf_counter()
            ModelFile.open(model).verify()
            parts["verifier"].append(time.perf_counter() - t)
            t = time.perf_counter()
            result = probe_model(model)
            parts["probe"].append(time.perf_counter() - t)
            assert result.ok, result
            t = time.perf_counter()
            store.install(path)
            parts["install"].append(time.perf_counter() - t)
    size = args.model.stat().st_size
    print(f"{args.model.name} ({size / 1e6:.1f} MB), {args.repeat} rounds, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, xs in parts.items():
        print(f"  {name:<10} median {statistics.median(xs):8.4f} s   (min {min(xs):.4f}, max {max(xs):.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
