"""Measure where a frame's time goes: edgeml's pipeline, a plain "tutorial" pipeline and bare ``invoke()``.

All three run on the same interpreter, the same model and the same frames, alternating in blocks of frames over
several rounds so that load from other processes hits them alike. A block (default 10 frames) is what a camera loop
looks like: one pipeline, frame after frame. ``block=1`` alternates every frame instead, which also charges each
pipeline for the cache lines the other two evicted (with a 5 MB model on a 1 MB L2, that costs edgeml ~0.1 ms a
frame and the tutorial about as much). Figures are medians and 95th percentiles of per-frame wall-clock times.

The tutorial pipeline is what the TFLite and picamera2 examples do: PIL bilinear resize, float normalise,
quantize with the input's scale and zero point, ``set_tensor``, ``invoke``, ``get_tensor``, float top-k.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeml.boards.profiles import LatencyCheck, check_latency, get_profile
from edgeml.errors import ImageError, InvalidArgumentError
from edgeml.frame import Frame
from edgeml.image.load import find_images, load_image
from edgeml.inference.classifier import Classifier
from edgeml.inference.prediction import STAGES
from edgeml.preprocess import Preprocessing

__all__ = ["BenchResult", "Stat", "compare_with_board", "photo_frames", "reference_key", "run_bench",
           "tutorial_pipeline"]


@dataclass(frozen=True)
class Stat:
    """Median and 95th percentile of a sample, in milliseconds."""

    median: float
    p95: float
    n: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Stat:
        """Summarise a sample of durations given in seconds."""
        arr = np.asarray(seconds, dtype=np.float64) * 1000.0
        return cls(float(np.median(arr)), float(np.percentile(arr, 95)), int(arr.size))

    def to_dict(self) -> dict[str, float]:
        """Return ``{"median_ms", "p95_ms", "n"}``."""
        return {"median_ms": round(self.median, 4), "p95_ms": round(self.p95, 4), "n": self.n}


@dataclass(frozen=True)
class BenchResult:
    """What one ``edgeml bench`` run measured.

    Attributes:
        edgeml: Per-stage stats of ``Classifier.run`` plus ``"total"``, the wall-clock time of the whole call.
        tutorial: Per-stage stats of the tutorial pipeline plus ``"total"``, likewise.
        bare_invoke: ``invoke()`` alone, input already set.
        info: Model, frame size, backends, threads.
    """

    edgeml: dict[str, Stat]
    tutorial: dict[str, Stat]
    bare_invoke: Stat
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ratios(self) -> dict[str, float]:
        """The comparisons the issue asks for, computed from medians."""
        bare, ours, tut = self.bare_invoke.median, self.edgeml["total"].median, self.tutorial["total"].median
        return {
            "edgeml_over_invoke": ours / bare,
            "tutorial_over_invoke": tut / bare,
            "overhead_removed": (tut - ours) / (tut - bare) if tut > bare else float("nan"),
            "fps_gain": tut / ours,
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (one line of ``edgeml bench --json``)."""
        return {
            **self.info,
            "edgeml": {k: v.to_dict() for k, v in self.edgeml.items()},
            "edgeml_fps": round(1000.0 / self.edgeml["total"].median, 2),
            "tutorial": {k: v.to_dict() for k, v in self.tutorial.items()},
            "tutorial_fps": round(1000.0 / self.tutorial["total"].median, 2),
            "bare_invoke": self.bare_invoke.to_dict(),
            "bare_invoke_fps": round(1000.0 / self.bare_invoke.median, 2),
            "ratios": {k: round(v, 4) for k, v in self.ratios.items()},
        }


def photo_frames(size_wh: tuple[int, int], source: str | os.PathLike[str] | None = None, limit: int = 8) -> list[Frame]:
    """Return real photos resized (once, with Pillow) to ``size_wh`` as RGB frames.

    Args:
        size_wh: Frame ``(width, height)``, e.g. ``(640, 480)``.
        source: An image file or a folder of images; None uses scikit-image's bundled photos (CC0).
        limit: At most this many frames.

    Raises:
        ImageError: No images found, or scikit-image missing when ``source`` is None.
    """
    if source is not None:
        path = Path(source)
        paths = find_images(path) if path.is_dir() else [path]
        photos = [load_image(p) for p in paths[:limit]]
    else:
        try:
            from skimage import data
        except ImportError as exc:
            raise ImageError(
                "No --source given and scikit-image (the default photos) is not installed. Pass --source with an "
                "image file or folder, or pip install scikit-image."
            ) from exc
        photos = [getattr(data, n)() for n in ("chelsea", "coffee", "astronaut", "rocket")][:limit]
    if not photos:
        raise ImageError(f"No images found in {str(source)!r}. Pass an image file or a folder of JPEG/PNG files.")
    frames = []
    for i, pixels in enumerate(photos):
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        resized = np.asarray(Image.fromarray(pixels[..., :3]).resize(size_wh, Image.Resampling.BILINEAR))
        frames.append(Frame(np.ascontiguousarray(resized), index=i))
    return frames


def tutorial_pipeline(
    interpreter: Any, prep: Preprocessing, labels: Sequence[str] | None = None
) -> Callable[[np.ndarray], tuple[float, float, float, int]]:
    """Return a function running the tutorial pipeline on an RGB frame: ``(pre_s, invoke_s, post_s, top1)``.

    Like edgeml's, its postprocessing ends with the top-5 (label, score) pairs, as a tutorial prints them.
    """
    names = list(labels) if labels else None
    mean, std = np.float32(prep.mean[0]), np.float32(prep.std[0])
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    _, h, w, channels = inp["shape"]
    in_scale, in_zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    info = np.iinfo(inp["dtype"]) if np.issubdtype(inp["dtype"], np.integer) else None

    def step(rgb: np.ndarray) -> tuple[float, float, float, int]:
        t0 = time.perf_counter()
        image = Image.fromarray(rgb).resize((int(w), int(h)), Image.Resampling.BILINEAR)
        if channels == 1:
            image = image.convert("L")
        x = (np.asarray(image, dtype=np.float32).reshape(int(h), int(w), int(channels)) - mean) / std
        if info is not None and in_scale:
            x = np.clip(np.round(x / in_scale + in_zp), info.min, info.max)
        interpreter.set_tensor(inp["index"], x.astype(inp["dtype"])[None])
        t1 = time.perf_counter()
        interpreter.invoke()
        t2 = time.perf_counter()
        scores = interpreter.get_tensor(out["index"])[0].astype(np.float32)
        if out_scale:
            scores = (scores - out_zp) * out_scale
        top = np.argsort(-scores)[:5]
        results = [(names[i] if names else str(i), float(scores[i])) for i in top]
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2, int(top[0]) if results else -1

    return step


def run_bench(
    classifier: Classifier,
    frames: Sequence[Frame],
    iterations: int = 200,
    warmup: int = 10,
    rounds: int = 5,
    progress: Callable[[str], None] | None = None,
    block: int = 10,
) -> BenchResult:
    """Time edgeml, the tutorial pipeline and bare invoke on ``frames``, alternating in blocks over ``rounds``.

    Args:
        classifier: The model under test; its interpreter is shared by all three pipelines.
        frames: RGB frames to cycle through.
        iterations: Frames per pipeline in total (split over the rounds).
        warmup: Untimed frames per pipeline before timing.
        rounds: Alternations between the pipelines.
        progress: Called with a short message after each round.
        block: Consecutive frames per pipeline before switching to the next (1: switch every frame).
    """
    if block < 1:
        raise InvalidArgumentError(f"block must be >= 1. Received: {block}")
    interpreter = classifier.interpreter
    tutorial = tutorial_pipeline(interpreter, classifier.preprocessing, classifier.labels)
    ours: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
    theirs: dict[str, list[float]] = {s: [] for s in ("preprocess", "invoke", "postprocess", "total")}
    bare: list[float] = []
    per_round = max(1, iterations // rounds)
    for i in range(warmup):
        classifier.run(frames[i % len(frames)])
        tutorial(frames[i % len(frames)].pixels)
    for r in range(rounds):
        # A block of frames through each pipeline in turn, so a burst of load from elsewhere hits all three alike.
        for start in range(0, per_round, block):
            batch = [frames[i % len(frames)] for i in range(start, min(start + block, per_round))]
            for frame in batch:
                t0 = time.perf_counter()
                t = classifier.run(frame).timings
                ours["total"].append(time.perf_counter() - t0)  # the whole call, not just the sum of its stages
                for stage in STAGES:
                    ours[stage].append(getattr(t, stage))
            for frame in batch:
                t0 = time.perf_counter()
                pre, inv, post, _ = tutorial(frame.pixels)
                theirs["total"].append(time.perf_counter() - t0)
                for stage, value in zip(("preprocess", "invoke", "postprocess"), (pre, inv, post), strict=True):
                    theirs[stage].append(value)
            for _ in batch:
                t0 = time.perf_counter()
                interpreter.invoke()
                bare.append(time.perf_counter() - t0)
        if progress:
            progress(f"round {r + 1}/{rounds}: edgeml {np.median(ours['total']) * 1e3:.2f} ms, tutorial "
                     f"{np.median(theirs['total']) * 1e3:.2f} ms, invoke {np.median(bare) * 1e3:.2f} ms")
    from edgeml.preprocess.resampling import backend

    spec = classifier.input
    info = {
        "model": str(classifier.model_path),
        "frame": f"{frames[0].width}x{frames[0].height}",
        "frame_format": frames[0].format,
        "input": f"{spec.dtype_name}{list(spec.shape)}",
        "input_path": classifier.input_path,
        "resize": classifier.preprocessing.resize,
        "resize_backend": backend(),
        "interpreter": classifier.backend,
        "threads": classifier.num_threads,
        "block": block,
    }
    return BenchResult({k: Stat.of(v) for k, v in ours.items()}, {k: Stat.of(v) for k, v in theirs.items()},
                       Stat.of(bare), info)


def reference_key(classifier: Classifier) -> str:
    """The board profiles' ``[reference_ms]`` key for this model: ``<name>_<input height>_<int8|edgetpu|...>``.

    ``efficientnet_lite0_int8.tflite`` (224 input) → ``efficientnet_lite0_224_int8``.
    """
    stem = classifier.model_path.stem
    kind = "edgetpu" if classifier.model.compiled_for_edgetpu else str(
        classifier.metadata.info.get("quantization") or ("int8" if classifier.input.quantized else "float32"))
    for suffix in ("_edgetpu", f"_{kind}"):
        stem = stem.removesuffix(suffix)
    return f"{stem}_{classifier.height}_{kind}"


def compare_with_board(classifier: Classifier, invoke_ms: float, key: str | None = None) -> LatencyCheck | None:
    """Compare a measured invoke time with the reference of the classifier's board profile (None: no board)."""
    board = classifier.settings.board
    if board is None:
        return None
    return check_latency(get_profile(board), key or reference_key(classifier), invoke_ms)
