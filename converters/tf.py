"""Import TensorFlow once, quietly, with the install hint when it is missing (host side only)."""

from __future__ import annotations

import os
from types import ModuleType

from edgeml._native_log import TENSORFLOW_NOISE, filtered_stderr
from edgeml._optional import require

__all__ = ["import_tensorflow"]


def import_tensorflow(purpose: str = "edgeml's host tools (convert, train)") -> ModuleType:
    """Return the ``tensorflow`` module, imported without its C++ start-up chatter on stderr.

    Raises:
        MissingDependencyError: TensorFlow is not installed; the message names ``pip install "edgeml[convert]"``.
    """
    # Our progress and one-line errors stay readable; real TensorFlow warnings (level 2+) still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr(TENSORFLOW_NOISE):
        return require("tensorflow", purpose)
