"""``make demo``: the main job end to end on real data, offline.

Train a small CNN on Fashion-MNIST (Debian package), convert it to full int8 with uint8 input calibrated on real
images, prove the accuracy it kept, and classify images with the device runtime, as a Raspberry Pi would.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default="build/demo", help="where models and images are cached")
    args = parser.parse_args(argv)

    from edgeml_converters.tf import import_tensorflow

    import_tensorflow("make demo")
    from edgeml import Classifier
    from edgeml_converters import fashion_mnist_model
    from edgeml_converters.convert import convert

    build = Path(args.build)
    out = sys.stdout  # TensorFlow and Keras chatter goes to stderr below; the demo's story stays on stdout
    print("1. Train a small CNN on Fashion-MNIST (cached after the first run)", flush=True)
    with contextlib.redirect_stdout(sys.stderr):
        art = fashion_mnist_model.prepare(build / "fashion")
        print("2. Convert to full int8 (uint8 in/out), calibrated on 300 real images", file=out, flush=True)
        result = convert(art.model, build / "fashion" / "model", calibration_dir=art.calibration_dir,
                         labels=art.labels)
    size_kb = result.model_path.stat().st_size / 1024
    print(f"   wrote {result.model_path} ({size_kb:.0f} KiB), input {result.input.dtype_name}"
          f"{list(result.input.shape)} scale={result.input.scale:g} zero_point={result.input.zero_point}")

    print("3. Accuracy on 2000 Fashion-MNIST test images")
    float_acc = fashion_mnist_model.float_accuracy(art.model)
    int8_acc = fashion_mnist_model.tflite_accuracy(result.model_path)
    print(f"   float (Keras) {float_acc:.2%}   int8 (edgeml runtime) {int8_acc:.2%}   "
          f"change {100 * (int8_acc - float_acc):+.2f} points")

    print("4. Classify one test image per class with the device runtime")
    clf = Classifier(result.model_path)
    for folder in sorted(p for p in art.test_dir.iterdir() if p.is_dir()):
        image = sorted(folder.glob("*.png"))[0]
        start = time.perf_counter()
        top = clf.classify(image, top_k=1)[0]
        ms = (time.perf_counter() - start) * 1000
        mark = "ok " if top.label.replace("/", "-").replace(" ", "-") in folder.name else "MISS"
        print(f"   {mark} {image.relative_to(art.test_dir)}: {top.label} {top.score:.0%} ({ms:.2f} ms)")
    print(f"\nTry it yourself:\n  .venv/bin/edgeml classify --model {result.model_path} "
          f"{sorted(art.test_dir.glob('*/*.png'))[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
