"""Import TensorFlow once, quietly, with the install hint when it is missing; keep its chatter off the terminal.

TensorFlow and Keras write between our own lines while they work: Keras prints every exported endpoint
(``Saved artifact at ...`` and a ``TensorSpec`` line per variable) on stdout, the converter's C++ prints
``fully_quantize: 0, ...`` on fd 2, TFLite announces its XNNPACK delegate, Python warnings and absl lines follow.
:func:`quiet` captures all of it (:func:`edgeml._native_log.quiet_output`) and logs it at DEBUG on the
``edgeml_converters.tf`` logger: ``edgeml -v`` shows it, and an error message can quote it.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import ModuleType
from typing import ParamSpec, TypeVar

from edgeml._native_log import TENSORFLOW_NOISE, Captured, filtered_stderr, quiet_output
from edgeml._optional import require

__all__ = ["import_tensorflow", "quiet", "quietly"]

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def import_tensorflow(purpose: str = "edgeml's host tools (convert, train)") -> ModuleType:
    """Return the ``tensorflow`` module, imported without its C++ start-up chatter on stderr.

    Raises:
        MissingDependencyError: TensorFlow is not installed; the message names ``pip install "edgeml[convert]"``.
    """
    # C++ INFO and WARNING lines are not even written; ERROR lines are (inside quiet() they are captured).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr(TENSORFLOW_NOISE):
        return require("tensorflow", purpose)


def quiet() -> AbstractContextManager[Captured]:
    """Capture what TensorFlow, Keras and TFLite write to stdout/stderr in the block; log it at DEBUG.

    Progress bars from :mod:`edgeml_converters.progress` and edgeml's own log records still reach the terminal.
    Blocks nest (the outer one captures); ``with quiet() as native:`` then ``native.text()`` is what the block's
    calls wrote so far, e.g. for an error message.
    """
    return quiet_output(log)


def quietly(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a host-tool entry point (convert, train) so that all of it runs inside :func:`quiet`."""

    @functools.wraps(fn)
    def run_quietly(*args: P.args, **kwargs: P.kwargs) -> R:
        with quiet():
            return fn(*args, **kwargs)

    return run_quietly
