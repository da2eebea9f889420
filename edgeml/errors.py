"""Errors raised by edgeml: each says what failed, why, and the fix.

Every error derives from :class:`EdgemlError` and also from the built-in exception a caller would expect, so
``except FileNotFoundError`` and ``except edgeml.EdgemlError`` both work::

    EdgemlError (Exception)
    ├── ModelNotFoundError        (+ FileNotFoundError)   model file missing
    ├── ModelFormatError          (+ ValueError)          not a .tflite / corrupt / unusable tensor layout
    ├── ModelCompatibilityError   (+ ValueError)          valid model, wrong kind for the request (e.g. float vs int8)
    ├── LabelsError               (+ ValueError)          labels file missing, empty or of the wrong length
    ├── ImageError                (+ ValueError)          a file that is not an image, or an array of the wrong kind
    ├── InterpreterUnavailableError (+ ImportError)       no working TFLite interpreter package
    ├── MissingDependencyError    (+ ImportError)         an optional package is needed for this call
    ├── SourceError               (+ OSError)             a camera/video/folder could not be opened or read
    ├── InvalidSourceError        (+ ValueError)          a source string with an unknown scheme or bad option
    └── ConversionError           (+ RuntimeError)        the host-side converter could not produce a model
"""

from __future__ import annotations

__all__ = [
    "ConversionError",
    "EdgemlError",
    "ImageError",
    "InterpreterUnavailableError",
    "InvalidSourceError",
    "LabelsError",
    "MissingDependencyError",
    "ModelCompatibilityError",
    "ModelFormatError",
    "ModelNotFoundError",
    "SourceError",
]


class EdgemlError(Exception):
    """Base class of every error edgeml raises on purpose."""


class ModelNotFoundError(EdgemlError, FileNotFoundError):
    """The model file does not exist."""


class ModelFormatError(EdgemlError, ValueError):
    """The file is not a usable TFLite model (wrong magic bytes, truncated, unsupported tensor layout)."""


class ModelCompatibilityError(EdgemlError, ValueError):
    """The model is valid but not of the kind the call asks for (e.g. a float model where int8 is required)."""


class LabelsError(EdgemlError, ValueError):
    """The labels cannot be read or do not match the model's output."""


class ImageError(EdgemlError, ValueError):
    """The input is not an image edgeml can classify (corrupt file, wrong dtype or channel count)."""


class InterpreterUnavailableError(EdgemlError, ImportError):
    """No TFLite interpreter package is installed, or the installed one cannot work here."""


class MissingDependencyError(EdgemlError, ImportError):
    """An optional package is needed for this call; the message names the pip extra or apt package."""


class ConversionError(EdgemlError, RuntimeError):
    """The host-side converter could not produce or verify a model."""


class SourceError(EdgemlError, OSError):
    """A frame source could not be opened or stopped delivering frames (camera unplugged, unreadable file)."""


class InvalidSourceError(EdgemlError, ValueError):
    """A source string names an unknown scheme or carries an invalid option."""
