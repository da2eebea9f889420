"""Preprocessing settings and the one function that resolves them (argument > board > model > default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from edgeml.errors import InvalidArgumentError

__all__ = ["RESIZE_MODES", "Preprocessing", "preprocessing_fields", "resolve_preprocessing"]

ResizeMode = Literal["stretch", "center_crop", "letterbox"]
RESIZE_MODES = ("stretch", "center_crop", "letterbox")


@dataclass(frozen=True)
class Preprocessing:
    """How pixels become model input; recorded by the converter inside every model it writes.

    The model's real-valued input is ``(pixel - mean) / std`` per channel, pixels in 0..255, RGB order.
    Resizing is bilinear with half-pixel centres and no antialiasing (``cv2.INTER_LINEAR``,
    ``tf.image.resize(..., "bilinear")``, the Keras ``Resizing`` layer), whichever library runs it.

    Attributes:
        resize: ``"stretch"`` (whole frame to the input size), ``"center_crop"`` (keep aspect ratio, crop the
            centre ``crop_fraction`` of the short side, as ImageNet models are evaluated) or ``"letterbox"``
            (keep aspect ratio, fit the whole frame, fill the borders with ``pad_value``).
        crop_fraction: Fraction of the short side kept by ``"center_crop"`` (0.875 = 224 of 256).
        mean: Per-channel mean, in pixel units (length 1 or C).
        std: Per-channel standard deviation, in pixel units (length 1 or C).
        pad_value: The pixel value (0..255, before normalisation) of the letterbox borders.
    """

    resize: ResizeMode = "stretch"
    crop_fraction: float = 1.0
    mean: tuple[float, ...] = field(default=(0.0,))
    std: tuple[float, ...] = field(default=(1.0,))
    pad_value: int = 0

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_MODES:
            raise InvalidArgumentError(f"resize must be 'stretch', 'center_crop' or 'letterbox'. "
                                       f"Received: {self.resize!r}")
        if not 0.0 < self.crop_fraction <= 1.0:
            raise InvalidArgumentError(f"crop_fraction must be in (0, 1]. Received: {self.crop_fraction}")
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if not self.mean or not self.std or any(s <= 0 for s in self.std):
            raise InvalidArgumentError(f"mean and std need at least one value and std must be > 0. Received: "
                             f"mean={self.mean}, std={self.std}")
        if not 0 <= int(self.pad_value) <= 255 or int(self.pad_value) != self.pad_value:
            raise InvalidArgumentError(f"pad_value must be an integer pixel value 0..255. Received: {self.pad_value!r}")
        object.__setattr__(self, "pad_value", int(self.pad_value))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (inverse of :meth:`from_dict`)."""
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Build from :meth:`to_dict` output.

        Unknown keys are ignored so newer models load in older runtimes; missing keys take their defaults, so
        models written before ``letterbox``/``pad_value`` existed load unchanged. ``"center-crop"`` (the CLI's
        spelling) is accepted for ``"center_crop"``.
        """
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for key in ("mean", "std"):
            if key in known:
                known[key] = tuple(known[key])
        if isinstance(known.get("resize"), str):
            known["resize"] = known["resize"].replace("-", "_")
        return cls(**known)


def preprocessing_fields(source: Preprocessing | Mapping[str, Any] | Any | None) -> dict[str, Any]:
    """Return the preprocessing fields ``source`` sets (a Preprocessing, a mapping, or an object with attributes)."""
    if source is None:
        return {}
    if isinstance(source, Preprocessing):
        return source.to_dict()
    nested = source.get("preprocessing") if isinstance(source, Mapping) else getattr(source, "preprocessing", None)
    if nested is not None and nested is not source:
        return preprocessing_fields(nested)
    names = {f.name for f in fields(Preprocessing)}
    if isinstance(source, Mapping):
        return {k: v for k, v in source.items() if k in names and v is not None}
    return {k: getattr(source, k) for k in names if getattr(source, k, None) is not None}


def resolve_preprocessing(
    explicit: Preprocessing | Mapping[str, Any] | None = None,
    board: Preprocessing | Mapping[str, Any] | Any | None = None,
    model: Preprocessing | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> Preprocessing:
    """Resolve the preprocessing to use: explicit argument > board profile > model metadata > default.

    Each level may set only some fields (e.g. a board profile saying ``{"resize": "letterbox"}``); a field set at
    a higher level wins over the same field below it. Keyword ``overrides`` are explicit and win over all.

    WRONG: ``Preprocessing(resize="letterbox")`` as ``explicit`` when only the resize should change — a full
    :class:`Preprocessing` sets every field, so it also replaces the model's mean and std with the defaults.
    RIGHT: ``resolve_preprocessing(model=meta.preprocessing, resize="letterbox")``.

    Args:
        explicit: What the caller passed: a full :class:`Preprocessing` or a mapping of some of its fields.
        board: A board profile's defaults: a mapping (``{"resize": ...}`` or ``{"preprocessing": {...}}``) or an
            object with those attributes. None when no board is configured.
        model: The model's recorded :class:`Preprocessing` (from its metadata), or None.
        **overrides: Single fields set explicitly, e.g. ``resize="center_crop"``.

    Raises:
        InvalidArgumentError: A resolved value is invalid (the message names it).
    """
    merged: dict[str, Any] = {}
    for level in (model, board, explicit, overrides):
        merged.update(preprocessing_fields(level))
    return Preprocessing.from_dict(merged)
