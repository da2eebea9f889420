"""Import optional packages at the point of use, with an error that names how to install them.

Runtime modules import only the standard library, numpy and Pillow at their top. Everything else (OpenCV,
picamera2, TensorFlow on the host) goes through :func:`require`, so a Raspberry Pi starts fast and a missing
package is reported with its fix instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from edgeml.errors import MissingDependencyError

# module name -> (what it is for, how to install it)
_INSTALL_HINTS: dict[str, tuple[str, str]] = {
    "cv2": ("OpenCV (fast resize and colour conversion, USB cameras, video files)", 'pip install "edgeml[opencv]"'),
    "picamera2": (
        "the Raspberry Pi camera stack",
        "sudo apt install python3-picamera2, then use a venv made with `python3 -m venv --system-site-packages`",
    ),
    "tensorflow": ("TensorFlow (host-side conversion and training)", 'pip install "edgeml[convert]"'),
    "tqdm": ("progress bars", 'pip install "edgeml[convert]"'),
    "matplotlib": ("report plots", 'pip install "edgeml[convert]"'),
    "cryptography": ("Ed25519 signatures of model bundles", 'pip install "edgeml[store]"'),
    "flatbuffers": ("writing .tflite flatbuffers", "pip install flatbuffers (ai-edge-litert brings it)"),
    "usearch": ("approximate nearest-neighbour search", 'pip install "edgeml[ann]"'),
    "paho": ("the MQTT sink (--output mqtt://...)", 'pip install "edgeml[mqtt]" (paho-mqtt >= 2; Debian\'s '
             "python3-paho-mqtt is the old 1.x API)"),
    "starlette": ("edgeml serve", 'pip install "edgeml[serve]"'),
    "uvicorn": ("edgeml serve", 'pip install "edgeml[serve]"'),
    "prometheus_client": ("edgeml serve's /metrics", 'pip install "edgeml[serve]"'),
}


def require(module: str, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the package to install.

    Args:
        module: Dotted module name, e.g. ``"cv2"``.
        purpose: What the caller needs it for; defaults to the module's known purpose.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        known_purpose, hint = _INSTALL_HINTS.get(top, (top, f"pip install {top}"))
        raise MissingDependencyError(
            f"{module} is needed for {purpose or known_purpose} but cannot be imported ({exc}). "
            f"Install it with: {hint}"
        ) from exc
