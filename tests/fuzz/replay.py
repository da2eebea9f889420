"""``python -m tests.fuzz.replay MODEL KIND SEED [ENTRY]``: rebuild one mutant and run it here, traceback shown.

Writes the mutant to ``build/fuzz/MODEL-KIND-SEED.tflite`` too, so it can be opened by hand.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from tests.fuzz.__main__ import MODELS, ROOT
from tests.fuzz.mutators import Base, mutate
from tests.fuzz.worker import ENTRIES, run_entry


def main(argv: list[str]) -> int:
    name, kind, seed = argv[0], argv[1], int(argv[2])
    entries = argv[3:] or list(ENTRIES)
    data = mutate(Base(name, MODELS[name].read_bytes()), kind, seed)
    out = ROOT / "build" / "fuzz" / f"{name}-{kind}-{seed}.tflite"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out} ({len(data)} bytes)")
    for entry in entries:
        if entry == "classify":
            import edgeml

            try:
                with edgeml.Classifier(str(out)) as clf:
                    from tests.fuzz.worker import _FRAME

                    print("classify:", clf.classify(_FRAME)[:2])
            except Exception:  # show it all
                traceback.print_exc()
        else:
            print(entry, run_entry(entry, str(Path(out))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
