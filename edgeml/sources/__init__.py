"""Frame sources: cameras, video files, folders of images and a synthetic pattern, opened by one string.

=========================  ==============================================  =======================
source string              backend (module)                                frames (native format)
=========================  ==============================================  =======================
``picamera2[:N]``          Raspberry Pi camera N, lores stream (picam)     I420 (Pi 4) / BGR (Pi 5)
``usb:N``, ``v4l2:/dev/X`` USB / V4L2 camera via OpenCV, MJPEG (camera)    BGR
``video:PATH``             video file via OpenCV (video)                   BGR
``images:DIR_OR_GLOB``     image files via Pillow, sorted (images)         RGB or GRAY
``synthetic[:WxH]``        generated test pattern, no camera (synthetic)   RGB
=========================  ==============================================  =======================

Example::

    from edgeml.sources import open_source
    with open_source("video:street.avi", loop=True) as src:
        frame = src.read()

Adding a camera type means adding a module here and a row to ``SCHEMES``; nothing else changes.
"""

from __future__ import annotations

import importlib
from typing import Any

from edgeml.errors import InvalidSourceError
from edgeml.sources.base import BaseSource, FrameSource, Pacer

__all__ = ["SCHEMES", "BaseSource", "FrameSource", "Pacer", "open_source"]

# scheme -> (module, factory, options it accepts)
SCHEMES: dict[str, tuple[str, str, frozenset[str]]] = {
    "picamera2": ("edgeml.sources.picam", "from_spec", frozenset({"size", "preview", "lores_format"})),
    "usb": ("edgeml.sources.camera", "from_spec", frozenset({"size"})),
    "v4l2": ("edgeml.sources.camera", "from_spec", frozenset({"size"})),
    "video": ("edgeml.sources.video", "from_spec", frozenset({"loop", "realtime", "decode_threads"})),
    "images": ("edgeml.sources.images", "from_spec", frozenset({"loop"})),
    "synthetic": ("edgeml.sources.synthetic", "from_spec", frozenset({"size", "fps", "realtime"})),
}


def open_source(spec: str, **options: Any) -> FrameSource:
    """Create the source named by ``spec`` (not yet opened: use it as a context manager or call ``open()``).

    Args:
        spec: ``"scheme:target"``; see the table in the module docstring.
        **options: Backend options; ``None`` and ``False`` values are ignored. ``size=(w, h)`` (cameras: the frame
            size to ask for, e.g. the model input), ``loop`` (video, images), ``realtime`` (video, synthetic: pace
            frames at the file's frame rate, dropping when the reader is slow), ``fps`` (synthetic),
            ``decode_threads`` (video), ``preview`` (picamera2: also keep the main stream), ``lores_format``
            (picamera2: its name for the lores stream's format, e.g. the board profile's ``"YUV420"``).

    Raises:
        InvalidSourceError: Unknown scheme, or an option the backend does not take.
    """
    scheme, _, target = spec.partition(":")
    if scheme not in SCHEMES:
        valid = ", ".join(["picamera2[:N]", "usb:N", "v4l2:/dev/videoN", "video:PATH", "images:DIR_OR_GLOB",
                           "synthetic[:WxH]"])
        raise InvalidSourceError(f"Unknown source {spec!r}. Valid sources: {valid}.")
    module, factory, accepted = SCHEMES[scheme]
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    unknown = sorted(set(given) - accepted)
    if unknown:
        raise InvalidSourceError(
            f"Source {spec!r} does not take option(s) {', '.join(unknown)}. "
            f"It takes: {', '.join(sorted(accepted)) or 'none'}."
        )
    source: FrameSource = getattr(importlib.import_module(module), factory)(spec, scheme, target, **given)
    return source
