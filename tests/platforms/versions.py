"""Print what a test environment runs (Python, numpy, Pillow, LiteRT, ml_dtypes, OpenCV) and fail when it is not
what the session asked for (noxfile.py): a suite run on the wrong versions proves nothing.

    python tests/platforms/versions.py [--pin NAME==VERSION ...] [--no-opencv]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import importlib.util
import platform
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--pin", action="append", default=[], metavar="NAME==VERSION")
    p.add_argument("--no-opencv", action="store_true")
    args = p.parse_args()
    names = ["numpy", "Pillow", "ai-edge-litert", "ml_dtypes"] + ([] if args.no_opencv else ["opencv-python-headless"])
    got = {name: md.version(name) for name in names}
    print(f"Python {platform.python_version()}:", ", ".join(f"{k} {v}" for k, v in got.items()),
          "(no OpenCV)" if args.no_opencv else "")
    pins = dict(pin.split("==") for pin in args.pin)
    wrong = {k: (v, got.get(k)) for k, v in pins.items() if got.get(k) != v}
    if wrong:
        print(f"pins not installed (wanted, got): {wrong}", file=sys.stderr)
        return 1
    if (importlib.util.find_spec("cv2") is None) != args.no_opencv:
        print("OpenCV presence is not what the session asked for", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
