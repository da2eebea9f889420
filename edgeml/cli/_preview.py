"""``edgeml classify --preview``: a local OpenCV window with the top label on each frame (display only).

Frames are drawn and dropped: nothing is written anywhere. No display, or an OpenCV without GUI support, is said
once and the stream goes on without a window.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeml.frame import BGR, BGRX, GRAY, I420, NV12, RGB, RGBX, Frame

if TYPE_CHECKING:
    from edgeml.streaming import Stream, StreamResult

__all__ = ["open_preview", "show", "to_bgr"]


def open_preview() -> Any:
    """Return cv2 with a window open, or None (after saying why) when there is no display or no GUI support."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("edgeml classify: --preview needs a display (DISPLAY / WAYLAND_DISPLAY is not set); "
              "continuing without a preview window.", file=sys.stderr)
        return None
    from edgeml._optional import require

    cv2 = require("cv2", "the --preview window")
    try:
        cv2.namedWindow("edgeml", cv2.WINDOW_NORMAL)
    except cv2.error as exc:
        print(f"edgeml classify: --preview: this OpenCV has no GUI support ({exc.err}); install opencv-python "
              "instead of opencv-python-headless. Continuing without a preview window.", file=sys.stderr)
        return None
    return cv2


def to_bgr(cv2: Any, frame: Frame) -> np.ndarray:
    """Return a contiguous BGR copy of ``frame`` cropped to its visible size (for display only)."""
    w, h, px = frame.width, frame.height, frame.pixels
    if frame.format in (I420, NV12):
        stride = px.shape[1]
        y = px[:h, :w]
        if frame.format == I420:
            u = px[h:h + h // 4].reshape(h // 2, stride // 2)[:, : w // 2]
            v = px[h + h // 4:].reshape(h // 2, stride // 2)[:, : w // 2]
            packed = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
            return cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_I420)
        packed = np.concatenate([y, px[h:, :w]])
        return cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_NV12)
    codes = {RGB: cv2.COLOR_RGB2BGR, RGBX: cv2.COLOR_RGBA2BGR, BGRX: cv2.COLOR_BGRA2BGR, GRAY: cv2.COLOR_GRAY2BGR}
    view = np.ascontiguousarray(px[:h, :w])
    return view.copy() if frame.format == BGR else cv2.cvtColor(view, codes[frame.format])


def show(cv2: Any, stream: Stream, result: StreamResult) -> bool:
    """Draw ``result`` on its frame (or the camera's preview stream); return False when the user pressed q."""
    preview = getattr(stream.source, "preview_image", None)
    frame = (preview() if preview else None) or result.frame
    if frame is None:
        return True
    img = to_bgr(cv2, frame)
    label = f"{result.results[0].label} {result.results[0].score:.0%}" if result.results else (result.error or "")
    cv2.putText(img, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2)
    cv2.imshow("edgeml", img)
    return (cv2.waitKey(1) & 0xFF) != ord("q")
