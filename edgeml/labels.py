"""Read class labels: a text file, a list, or the labels a model carries inside it; bounded by the class count.

A label file is tiny (ImageNet's 1,000 names: 21 KB). A file or an index far beyond what the model's classes need
is refused before anything big is built: ``999999999999 z`` would otherwise allocate a trillion-entry tuple, and a
300 MB ``labels.txt`` would be read whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from edgeml.errors import LabelsError, one_line

__all__ = ["MAX_LABELS", "label_bytes_limit", "parse_labels", "read_labels"]

# pycoral's label files put the class index first ("0 person" or "0: person"); plain files have one label per line.
_INDEXED = re.compile(r"^\s*(\d+)[\s:]+(.*\S)\s*$")
MAX_LABELS = 100_000  # classes, when the model's count is not known
_BYTES_PER_LABEL = 1024  # a generous bound on one line ("12: n02085620 Chihuahua, ..."), plus a fixed allowance
_ALLOWANCE = 64 * 1024


_UNKNOWN_LIMIT = 16 << 20  # bytes, when the class count is not known


def label_bytes_limit(classes: int | None = None) -> int:
    """The largest labels file accepted for a model of ``classes`` classes: 64 KiB + 1 KiB per class (16 MiB when
    the count is not known)."""
    return _ALLOWANCE + _BYTES_PER_LABEL * classes if classes is not None else _UNKNOWN_LIMIT


def parse_labels(text: str, max_classes: int | None = None) -> tuple[str, ...]:
    """Parse label text: one label per line, or ``"<index> <label>"`` / ``"<index>: <label>"`` lines.

    Args:
        text: The file's contents. Blank lines are ignored. Indexed files may leave gaps; gaps become ``""``.
        max_classes: The model's class count when known; an index at or beyond it (or beyond
            :data:`MAX_LABELS`) is refused, as is text longer than :func:`label_bytes_limit` allows.

    Returns:
        The labels in class-index order.

    Raises:
        LabelsError: No labels, an index repeated or out of bounds, or far too much text.
    """
    bound = max_classes if max_classes is not None else MAX_LABELS
    if len(text) > label_bytes_limit(max_classes):
        raise LabelsError(f"The labels text is {len(text):,} characters; labels for {bound:,} classes need at most "
                          f"{label_bytes_limit(max_classes):,}. Pass the labels file written with this model.")
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines:
        raise LabelsError("The labels file is empty. Write one class name per line, in class-index order.")
    if len(lines) > max(bound, 1) * 2 + 16:
        raise LabelsError(f"The labels file has {len(lines):,} lines; the model has {bound:,} classes. Pass the "
                          "labels file written with this model (one name per line, in output order).")
    matches = [_INDEXED.match(line) for line in lines]
    if all(matches):
        by_index: dict[int, str] = {}
        for m in matches:
            assert m is not None  # narrowed by all() above; not user input validation
            digits = m.group(1)
            idx = int(digits) if len(digits) <= 18 else bound
            if idx >= bound:
                raise LabelsError(f"Label index {one_line(digits, 24)} is beyond the model's {bound:,} classes "
                                  f"(0..{bound - 1}). Pass the labels file written with this model.")
            if idx in by_index:
                raise LabelsError(f"Label index {idx} appears twice ({one_line(by_index[idx], 60)!r} and "
                                  f"{one_line(m.group(2), 60)!r}).")
            by_index[idx] = m.group(2)
        return tuple(by_index.get(i, "") for i in range(max(by_index) + 1))
    return tuple(line.strip() for line in lines)


def read_labels(source: str | os.PathLike[str] | Sequence[str], max_classes: int | None = None) -> tuple[str, ...]:
    """Return labels from a file path or a sequence of names.

    Args:
        source: A labels file, or the names themselves.
        max_classes: The model's class count when known (see :func:`parse_labels`): a bigger file is refused
            after reading at most :func:`label_bytes_limit` bytes.

    Raises:
        LabelsError: The file is missing, unreadable, empty, or far too big for the model.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        limit = label_bytes_limit(max_classes)
        try:
            with path.open("rb") as f:
                raw = f.read(limit + 1)
        except FileNotFoundError as exc:
            raise LabelsError(f"Labels file not found: {str(path)!r}. Pass the labels.txt written by "
                              "`edgeml convert`, or omit labels if the model carries them.") from exc
        except OSError as exc:
            raise LabelsError(f"Cannot read labels file {str(path)!r}: {one_line(exc.strerror or exc)}.") from exc
        if len(raw) > limit:
            raise LabelsError(f"Labels file {str(path)!r} is larger than {limit:,} bytes, far more than "
                              f"{max_classes if max_classes is not None else MAX_LABELS:,} classes need. Pass the "
                              "labels file written with this model.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LabelsError(f"Labels file {str(path)!r} is not UTF-8 text ({one_line(exc.reason, 60)} at byte "
                              f"{exc.start}). Save it as UTF-8.") from exc
        return parse_labels(text, max_classes)
    labels = tuple(str(s) for s in source)
    if not labels:
        raise LabelsError("The labels sequence is empty. Pass one name per class, in class-index order.")
    return labels
