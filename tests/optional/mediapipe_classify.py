"""Run MediaPipe Tasks' ImageClassifier on images; print one JSON line per image (run in build/mediapipe-venv).

Usage: python mediapipe_classify.py MODEL.tflite IMAGES.npz  (uint8 arrays (H, W) greyscale or (H, W, 3) RGB)
Kept free of edgeml imports: mediapipe lives in its own venv (it pulls opencv-contrib, which clashes with headless).
"""

from __future__ import annotations

import json
import sys

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.core.base_options import BaseOptions


def main(model: str, images: str) -> None:
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model), max_results=1)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        data = np.load(images)
        for name in sorted(data.files):
            pixels = np.ascontiguousarray(data[name])
            fmt = mp.ImageFormat.GRAY8 if pixels.ndim == 2 else mp.ImageFormat.SRGB
            result = classifier.classify(mp.Image(image_format=fmt, data=pixels))
            top = result.classifications[0].categories[0]
            print(json.dumps({"image": name, "index": top.index, "label": top.category_name,
                              "score": top.score}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
