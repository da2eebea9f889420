"""Load a model for conversion with its batch pinned to 1: Keras files and objects, SavedModel folders.

- :mod:`~edgeml_converters.loading.load`: :func:`load`, which picks the loader;
- :mod:`~edgeml_converters.loading.keras` and :mod:`~edgeml_converters.loading.savedmodel`: one per format;
- :mod:`~edgeml_converters.loading.model`: :class:`LoadedModel` and :class:`Fold`, what they all return and take.
"""

from __future__ import annotations

from edgeml_converters.loading.keras import fold_layer, load_custom_objects
from edgeml_converters.loading.load import load
from edgeml_converters.loading.model import Fold, LoadedModel, fold_values, static_shape

__all__ = ["Fold", "LoadedModel", "fold_layer", "fold_values", "load", "load_custom_objects", "static_shape"]
