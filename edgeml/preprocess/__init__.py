"""Pure preprocessing: any image or camera frame → the model's input tensor, doing as little work as it allows.

The steps, one module each, composed by :class:`InputPlanner` (which :class:`edgeml.Classifier` uses):

- :mod:`~edgeml.preprocess.settings`: :class:`Preprocessing` and :func:`resolve_preprocessing`
  (explicit argument > board profile > model metadata > default);
- :mod:`~edgeml.preprocess.geometry`: which source box lands where (stretch, center_crop, letterbox);
- :mod:`~edgeml.preprocess.colour`: RGB, BGR, RGBX, BGRX, GRAY, I420, NV12 → RGB or grey;
- :mod:`~edgeml.preprocess.resampling`: bilinear resize (OpenCV when installed, numpy otherwise);
- :mod:`~edgeml.preprocess.quantize`: uint8 → input values by copy, bit flip or lookup table;
- :mod:`~edgeml.preprocess.plan`: the composition (:class:`InputPlanner`), writing into a caller's buffer.
"""

from __future__ import annotations

from edgeml.preprocess.geometry import Placement, crop_box, input_size, placement
from edgeml.preprocess.plan import InputPlanner, Writer, plan_input, to_frame, to_input_tensor, write_input
from edgeml.preprocess.quantize import InputQuantizer, identity_offset
from edgeml.preprocess.resampling import Resampler, resize, set_backend
from edgeml.preprocess.settings import RESIZE_MODES, Preprocessing, resolve_preprocessing

# Kept for callers of the single-module version (the converter checks input quantization with it).
_identity_offset = identity_offset

__all__ = [
    "RESIZE_MODES",
    "InputPlanner",
    "InputQuantizer",
    "Placement",
    "Preprocessing",
    "Resampler",
    "Writer",
    "crop_box",
    "identity_offset",
    "input_size",
    "placement",
    "plan_input",
    "resize",
    "resolve_preprocessing",
    "set_backend",
    "to_frame",
    "to_input_tensor",
    "write_input",
]
