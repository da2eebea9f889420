"""Errors raised by edgeml: each says what failed, why, and the fix.

Every error derives from :class:`EdgemlError` and also from the built-in exception a caller would expect, so
``except FileNotFoundError`` and ``except edgeml.EdgemlError`` both work::

    EdgemlError (Exception)
    ├── ModelNotFoundError        (+ FileNotFoundError)   model file missing
    ├── ModelFormatError          (+ ValueError)          not a .tflite / corrupt / unusable tensor layout
    ├── ModelCompatibilityError   (+ ValueError)          valid model, wrong kind for the request (e.g. float vs int8)
    ├── InvalidArgumentError      (+ ValueError)          an argument out of range or not one of its choices
    ├── LabelsError               (+ ValueError)          labels file missing, empty or of the wrong length
    ├── ImageError                (+ ValueError)          a file that is not an image, or an array of the wrong kind
    ├── InterpreterUnavailableError (+ ImportError)       no working TFLite interpreter package
    ├── MissingDependencyError    (+ ImportError)         an optional package is needed for this call
    ├── SourceError               (+ OSError)             a camera/video/folder could not be opened or read
    ├── InvalidSourceError        (+ ValueError)          a source string with an unknown scheme or bad option
    ├── StreamStalledError        (+ TimeoutError)        a stream's source read or invoke() stopped returning
    ├── ConversionError           (+ RuntimeError)        the host-side converter could not produce a model
    ├── EdgeTpuError              (+ RuntimeError)        the Edge TPU cannot be used: library, device, permission,
    │                                                     runtime version; ``.reason`` says which
    ├── CompilerNotFoundError     (+ FileNotFoundError)   edgetpu_compiler is not installed (host side)
    ├── BoardProfileError         (+ ValueError)          unknown board name, or a boards/*.toml that is invalid
    ├── ServiceConfigError        (+ ValueError)          a kiosk service that cannot be written as asked
    ├── BundleError               (+ ValueError)          a model bundle refused: tampered, unsigned, untrusted key,
    │                                                     unlisted file, path traversal, symlink, downgrade
    ├── StoreError                (+ OSError)             the model store cannot do it: not installed, unwritable,
    │                                                     the current or committed version, a version marked bad
    ├── LearnError                (+ ValueError)          on-device learning: no embedding model, a label with no
    │                                                     examples, unreadable stored examples
    ├── IndexFileError            (+ ValueError)          a similarity index that is corrupt or of another dimension
    └── SinkError                 (+ OSError)             a results sink cannot be opened or written: outbox file,
                                                          jsonl path, broker settings, server bind

Every message is one line. Text from another library (an interpreter's, zipfile's, json's) is embedded through
:func:`one_line`, which squashes it to one line and cuts it to :data:`FOREIGN_LIMIT` characters, so a corrupt file
can never produce a 19 KB message.
"""

from __future__ import annotations

__all__ = [
    "FOREIGN_LIMIT",
    "BoardProfileError",
    "BundleError",
    "CompilerNotFoundError",
    "ConversionError",
    "EdgeTpuError",
    "EdgemlError",
    "ImageError",
    "IndexFileError",
    "InterpreterUnavailableError",
    "InvalidArgumentError",
    "InvalidSourceError",
    "LabelsError",
    "LearnError",
    "MissingDependencyError",
    "ModelCompatibilityError",
    "ModelFormatError",
    "ModelNotFoundError",
    "ServiceConfigError",
    "SinkError",
    "SourceError",
    "StoreError",
    "StreamStalledError",
    "one_line",
]

FOREIGN_LIMIT = 200  # characters of another library's message kept inside one of ours


def one_line(text: object, limit: int = FOREIGN_LIMIT) -> str:
    """Return ``str(text)`` on one line (runs of whitespace, newlines included, become one space), at most
    ``limit`` characters (cut with ``...``).

    Example::

        raise ModelFormatError(f"{name!r} cannot be loaded: {one_line(exc)}. Copy or convert it again.") from exc
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:max(0, limit - 3)] + "..."


class EdgemlError(Exception):
    """Base class of every error edgeml raises on purpose."""


class ModelNotFoundError(EdgemlError, FileNotFoundError):
    """The model file does not exist."""


class ModelFormatError(EdgemlError, ValueError):
    """The file is not a usable TFLite model (wrong magic bytes, truncated, unsupported tensor layout)."""


class ModelCompatibilityError(EdgemlError, ValueError):
    """The model is valid but not of the kind the call asks for (e.g. a float model where int8 is required)."""


class InvalidArgumentError(EdgemlError, ValueError):
    """An argument is out of its valid range or not one of its choices (``top_k=0``, ``num_threads=-1``,
    ``device="tpu"``, ``resize="crop"``); the message gives the value received and the valid ones."""


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


class EdgeTpuError(EdgemlError, RuntimeError):
    """The Edge TPU delegate cannot be used; the message names the fix.

    Attributes:
        reason: ``"library_missing"``, ``"no_device"``, ``"permission"``, ``"runtime_too_old"``,
            ``"compiled_model_needs_tpu"`` or ``"delegate_failed"``.
    """

    def __init__(self, message: str, reason: str = "delegate_failed") -> None:
        super().__init__(message)
        self.reason = reason


class CompilerNotFoundError(EdgemlError, FileNotFoundError):
    """``edgetpu_compiler`` is not installed; the message says how to install it (x86-64 Debian/Ubuntu only)."""


class BoardProfileError(EdgemlError, ValueError):
    """An unknown board name, or a board profile (boards/*.toml) that is invalid."""


class ServiceConfigError(EdgemlError, ValueError):
    """The kiosk service cannot be written as asked (root user, missing model, unwritable unit folder)."""


class BundleError(EdgemlError, ValueError):
    """A model bundle was refused (:mod:`edgeml.store`): a byte that does not match its signed manifest, a signature
    by a key the store does not trust, no signature (without ``allow_unsigned``), a file the manifest does not list,
    a path that leaves the bundle, a symlink, or a version not above the newest installed. The message names the fix.
    """


class StoreError(EdgemlError, OSError):
    """The model store cannot do what was asked: the store folder is not writable, a name or version is not
    installed, a version that is current or committed cannot be removed, a version marked bad is not activated."""


class SourceError(EdgemlError, OSError):
    """A frame source could not be opened or stopped delivering frames (camera unplugged, unreadable file)."""


class InvalidSourceError(EdgemlError, ValueError):
    """A source string names an unknown scheme or carries an invalid option."""


class StreamStalledError(EdgemlError, TimeoutError):
    """A stream's watchdog found a call that did not return in time: a source read (a hung camera) or an
    ``invoke()``. The stuck thread cannot be interrupted; restart the process.

    Attributes:
        stage: ``"source"`` or ``"invoke"``.
        seconds: How long the call had been running when the watchdog stopped the stream.
    """

    def __init__(self, message: str, stage: str = "source", seconds: float = 0.0) -> None:
        super().__init__(message)
        self.stage = stage
        self.seconds = seconds


class LearnError(EdgemlError, ValueError):
    """Learning on the device cannot go on: no embedding model, a label with no examples, unreadable examples."""


class IndexFileError(EdgemlError, ValueError):
    """A similarity index file is corrupt, or its vectors have another dimension than the embedding model's."""


class SinkError(EdgemlError, OSError):
    """A results sink (``--output``) or ``edgeml serve`` cannot do its job: an unwritable or corrupt outbox or
    jsonl file, an address that cannot be bound; the message names the fix."""
