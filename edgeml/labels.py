"""Read class labels: a text file, a list, or the labels a model carries inside it."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from edgeml.errors import LabelsError

__all__ = ["parse_labels", "read_labels"]

# pycoral's label files put the class index first ("0 person" or "0: person"); plain files have one label per line.
_INDEXED = re.compile(r"^\s*(\d+)[\s:]+(.*\S)\s*$")


def parse_labels(text: str) -> tuple[str, ...]:
    """Parse label text: one label per line, or ``"<index> <label>"`` / ``"<index>: <label>"`` lines.

    Args:
        text: The file's contents. Blank lines are ignored. Indexed files may leave gaps; gaps become ``""``.

    Returns:
        The labels in class-index order.

    Raises:
        LabelsError: No labels, or an indexed file repeats an index.
    """
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines:
        raise LabelsError("The labels file is empty. Write one class name per line, in class-index order.")
    matches = [_INDEXED.match(line) for line in lines]
    if all(matches):
        by_index: dict[int, str] = {}
        for m in matches:
            assert m is not None  # narrowed by all() above; not user input validation
            idx = int(m.group(1))
            if idx in by_index:
                raise LabelsError(f"Label index {idx} appears twice ({by_index[idx]!r} and {m.group(2)!r}).")
            by_index[idx] = m.group(2)
        return tuple(by_index.get(i, "") for i in range(max(by_index) + 1))
    return tuple(line.strip() for line in lines)


def read_labels(source: str | os.PathLike[str] | Sequence[str]) -> tuple[str, ...]:
    """Return labels from a file path or a sequence of names.

    Raises:
        LabelsError: The file is missing, unreadable or empty.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise LabelsError(f"Labels file not found: {str(path)!r}. Pass the labels.txt written by "
                              "`edgeml convert`, or omit labels if the model carries them.") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise LabelsError(f"Cannot read labels file {str(path)!r}: {exc}. It must be UTF-8 text.") from exc
        return parse_labels(text)
    labels = tuple(str(s) for s in source)
    if not labels:
        raise LabelsError("The labels sequence is empty. Pass one name per class, in class-index order.")
    return labels
