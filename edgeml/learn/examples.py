"""Learned examples on disk: embeddings and labels only, per embedding model, private to the user.

Layout, under the store directory (:func:`edgeml.store.store_dir`)::

    STORE/learned/<model key>/model.json             the model's name, sha256, embedding dimension
    STORE/learned/<model key>/<label hex>.npz        one label: "label" (str) and "vectors" float32 (n, D)

The model key is the first 16 hex digits of the SHA-256 of the model file, so examples computed by another model
are never mixed in. A label's file name is its UTF-8 bytes in hex (any label is a valid file name, and
forgetting a label is deleting one file). Directories are 0700 and files 0600, written atomically (a temporary
file renamed over the old one). Nothing else is written: no pixels, no file names, no timestamps.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeml.data_dir import LEARNED
from edgeml.errors import InvalidArgumentError, LearnError
from edgeml.model import ModelFile
from edgeml.store import private_dir, store_dir

__all__ = ["LEARNED", "ExampleStore", "LabelExamples", "forget_everywhere", "model_key"]

_MODEL_JSON = "model.json"
_MAX_LABEL_BYTES = 100


def model_key(model: ModelFile) -> str:
    """Return the key examples of ``model`` are kept under: 16 hex digits of its file's SHA-256."""
    return hashlib.sha256(model.data).hexdigest()[:16]


@dataclass(frozen=True)
class LabelExamples:
    """The stored examples of one label: float32 ``(n, D)`` embeddings as the model output them."""

    label: str
    vectors: np.ndarray

    @property
    def count(self) -> int:
        return int(self.vectors.shape[0])


def _write_private(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


class ExampleStore:
    """The learned examples of one embedding model.

    Args:
        model: The embedding model (its bytes give the key).
        dimension: Its embedding dimension (checked on every add).
        store: The store directory; None: :func:`edgeml.store.store_dir`.
    """

    def __init__(self, model: ModelFile, dimension: int, store: str | os.PathLike[str] | None = None) -> None:
        self.model, self.dimension = model, int(dimension)
        self.root = store_dir(store) / LEARNED / model_key(model)

    @staticmethod
    def models(store: str | os.PathLike[str] | None = None) -> list[tuple[str, dict[str, object]]]:
        """Return ``(key, model.json contents)`` of every model with learned examples."""
        base = store_dir(store) / LEARNED
        out = []
        for d in sorted(base.glob("*/")) if base.is_dir() else []:
            try:
                info = json.loads((d / _MODEL_JSON).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = {}
            out.append((d.name, info))
        return out

    @staticmethod
    def summary(store: str | os.PathLike[str] | None = None, only: str | None = None) -> list[dict[str, object]]:
        """One row per learned label: ``{"label", "examples", "model", "key"}`` (``only``: one model's key)."""
        root = store_dir(store) / LEARNED
        rows: list[dict[str, object]] = []
        for key, info in ExampleStore.models(store):
            if only is not None and key != only:
                continue
            for label, f in ExampleStore.label_files(root / key):
                with np.load(f, allow_pickle=False) as data:
                    count = int(data["vectors"].shape[0])
                rows.append({"label": label, "examples": count, "model": info.get("name"), "key": key})
        return rows

    @staticmethod
    def label_files(directory: Path) -> Iterator[tuple[str, Path]]:
        """Yield ``(label, file)`` for every label stored in a model directory."""
        for f in sorted(directory.glob("*.npz")):
            try:
                yield bytes.fromhex(f.stem).decode("utf-8"), f
            except ValueError:
                continue

    def _file(self, label: str) -> Path:
        data = _check_label(label).encode("utf-8")
        return self.root / f"{data.hex()}.npz"

    def add(self, label: str, vectors: np.ndarray) -> int:
        """Append ``vectors`` (float ``(n, D)``) to ``label``'s examples; return how many it now has.

        Raises:
            InvalidArgumentError: An empty or over-long label, or vectors of another dimension.
            LearnError: No vectors.
        """
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise LearnError(f"No examples to add for {label!r}: no image could be embedded. Pass image files, "
                             "a folder of images, or --source with --frames N.")
        if vectors.shape[1] != self.dimension:
            raise InvalidArgumentError(f"Embeddings of dimension {vectors.shape[1]} do not match the model's "
                                       f"{self.dimension}.")
        path = self._file(label)
        private_dir(self.root)
        self._write_model_json()
        old = self.get(label)
        merged = vectors if old is None else np.concatenate([old.vectors, vectors])
        buffer = _npz({"label": np.array(label), "vectors": merged})
        _write_private(path, buffer)
        return int(merged.shape[0])

    def get(self, label: str) -> LabelExamples | None:
        """Return ``label``'s examples, or None when it has none."""
        path = self._file(label)
        if not path.is_file():
            return None
        return _read(path, label)

    def labels(self) -> list[LabelExamples]:
        """Return every label's examples, sorted by label."""
        if not self.root.is_dir():
            return []
        return sorted((_read(f, label) for label, f in self.label_files(self.root)), key=lambda e: e.label)

    def forget(self, label: str) -> bool:
        """Delete ``label``'s examples; return True when there were any."""
        path = self._file(label)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def _write_model_json(self) -> None:
        path = self.root / _MODEL_JSON
        if not path.is_file():
            info = {"model": str(self.model.path.resolve()), "name": self.model.path.name,
                    "sha256": hashlib.sha256(self.model.data).hexdigest(), "dimension": self.dimension}
            _write_private(path, json.dumps(info, indent=2).encode("utf-8"))


def forget_everywhere(label: str, store: str | os.PathLike[str] | None = None) -> int:
    """Delete ``label``'s examples under every model in the store; return how many models had it."""
    data = _check_label(label).encode("utf-8").hex()
    count = 0
    for key, _ in ExampleStore.models(store):
        path = store_dir(store) / LEARNED / key / f"{data}.npz"
        if path.is_file():
            path.unlink()
            count += 1
    return count


def _check_label(label: str) -> str:
    if not isinstance(label, str) or not label.strip() or len(label.encode("utf-8")) > _MAX_LABEL_BYTES \
            or "\n" in label:
        raise InvalidArgumentError(f"A label must be one line of 1 to {_MAX_LABEL_BYTES} bytes. Received: "
                                   f"{label!r}")
    return label


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def _read(path: Path, label: str) -> LabelExamples:
    try:
        with np.load(path, allow_pickle=False) as data:
            return LabelExamples(str(data["label"]), np.asarray(data["vectors"], np.float32))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise LearnError(f"The examples of {label!r} in {str(path)!r} are unreadable ({exc}). Forget the label "
                         f"(edgeml learn forget {label!r}) and add it again.") from exc
