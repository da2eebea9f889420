"""A .tflite model file, read once: its bytes, and the graph, metadata and Edge TPU marker parsed from them on use.

Every consumer shares the one read: the interpreter opener hands the bytes to the interpreter (``model_content``),
:mod:`edgeml.edgetpu` checks the graph, the Classifier reads the labels and preprocessing, ``edgeml inspect``
shows all of it. A Raspberry Pi's SD card is slow, and reading a 5 MB model three times cost more than parsing it.

Example::

    model = ModelFile.open("model_int8.tflite")
    model.graph.main.operators[0].name      # "CONV_2D"
    model.metadata.labels                   # ("cat", "dog", ...) or None
    model.compiled_for_edgetpu              # True for edgetpu_compiler output
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from edgeml.errors import ModelFormatError, ModelNotFoundError
from edgeml.model.graph import Graph, parse_graph
from edgeml.model.metadata import ModelMetadata, parse_metadata
from edgeml.model.verify import Facts, Layout, check_layout, check_structure

__all__ = ["EDGETPU_CUSTOM_OP", "ModelFile", "check_model_file", "read_graph"]

EDGETPU_CUSTOM_OP = b"edgetpu-custom-op"  # the custom op edgetpu_compiler writes; only the Edge TPU delegate runs it
_KERAS_SUFFIXES = {".keras", ".h5", ".pb"}


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """Fail early, with the fix, when ``path`` is missing or is not a TFLite flatbuffer (reads 8 bytes).

    Raises:
        ModelNotFoundError: The file does not exist.
        ModelFormatError: The file lacks the ``TFL3`` identifier (not a .tflite, or a Keras/ONNX/other file).
    """
    p = Path(path)
    if not p.is_file():
        raise ModelNotFoundError(f"Model file not found: {str(p)!r}. Check the path, or convert a Keras model "
                                 "with: edgeml convert MODEL --calibration DIR --output OUT_DIR")
    with p.open("rb") as f:
        _check_identifier(f.read(8), p)
    return p


def _check_identifier(head: bytes, p: Path) -> None:
    if len(head) < 8 or head[4:8] != b"TFL3":
        hint = ""
        if p.suffix in _KERAS_SUFFIXES or head[:4] == b"PK\x03\x04" or head[:4] == b"\x89HDF":
            hint = " It looks like a Keras model: convert it first with `edgeml convert`."
        raise ModelFormatError(
            f"{str(p)!r} is not a TFLite model (no 'TFL3' flatbuffer identifier; got {head[4:8]!r}).{hint}"
        )


@dataclass(frozen=True, eq=False)
class ModelFile:
    """The bytes of one .tflite file and what they hold, each part parsed on first use and kept.

    Attributes:
        path: Where it was read from (``Path("<bytes>")`` for :meth:`from_bytes`).
        data: The whole file, flatbuffer plus any appended zip of associated files.
    """

    path: Path
    data: bytes = field(repr=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ModelFile:
        """Read ``path`` once.

        Raises:
            ModelNotFoundError: The file does not exist.
            ModelFormatError: It is not a TFLite flatbuffer (the message says what it looks like instead).
        """
        p = Path(path)
        try:
            data = p.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            check_model_file(p)  # raises the error with the fix
            raise
        except OSError as exc:
            raise ModelNotFoundError(f"Cannot read model file {str(p)!r}: {exc.strerror or exc}. Check its "
                                     "permissions (the service user must be able to read it).") from exc
        _check_identifier(data[:8], p)
        return cls(p, data)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> ModelFile:
        """Wrap .tflite bytes already in memory (``name`` appears in error messages).

        Raises:
            ModelFormatError: Not a TFLite flatbuffer.
        """
        path = Path(name)
        _check_identifier(bytes(data[:8]), path)
        return cls(path, bytes(data))

    @property
    def name(self) -> str:
        """The path as a string, for messages."""
        return str(self.path)

    @property
    def size(self) -> int:
        """File size in bytes."""
        return len(self.data)

    @cached_property
    def layout(self) -> Layout:
        """The flatbuffer checked against TFLite's whole schema (:mod:`edgeml.model.verify.structure`).

        Raises:
            ModelFormatError: A structural fault (the message says where).
        """
        return check_structure(self.data, self.name)

    def verify(self, runtime: bool = True) -> Facts:
        """Check the file's structure and meaning once (:mod:`edgeml.model.verify`); what it established.

        Every interpreter opener calls this first, so a file that fails never reaches native code.

        Args:
            runtime: Also require this interpreter's kernels for every op at its version (``False`` for tools
                that only read the file, such as ``edgeml inspect`` and ``edgeml edgetpu check``).

        Raises:
            ModelFormatError: The first fault, where it is, and the fix.
        """
        cache: dict[bool, Facts] = self.__dict__.setdefault("_facts", {})
        facts = cache.get(runtime)
        if facts is None:
            facts = cache[runtime] = check_layout(self.layout, self.name, runtime=runtime)
        return facts

    @cached_property
    def graph(self) -> Graph:
        """The parsed flatbuffer: subgraphs, tensors, ops (:func:`edgeml.model.graph.parse_graph`); verified first.

        Raises:
            ModelFormatError: The file fails the structural or semantic checks.
        """
        self.verify(runtime=False)
        return parse_graph(self.data, self.name)

    @cached_property
    def metadata(self) -> ModelMetadata:
        """Labels, preprocessing and the rest the model carries (:func:`edgeml.model.metadata.parse_metadata`).

        A damaged metadata zip on an intact model gives what could be read, and says what was lost in
        :attr:`ModelMetadata.problems` (logged as a warning once).

        Raises:
            ModelFormatError: Metadata is readable but invalid (a bad ``edgeml.json`` value, labels beyond limits).
        """
        try:
            end: int | None = self.layout.end
        except ModelFormatError:
            end = None  # a damaged flatbuffer: the verifier reports it where the model is opened
        return parse_metadata(self.data, self.name, flatbuffer_end=end, classes=self._classes())

    def _classes(self) -> int | None:
        """The main output's element count when the file verifies (bounds the labels), else None."""
        try:
            return self.verify(runtime=False).classes
        except ModelFormatError:
            return None

    @cached_property
    def compiled_for_edgetpu(self) -> bool:
        """True when the model holds an ``edgetpu-custom-op`` (written by edgetpu_compiler): it needs the TPU."""
        return EDGETPU_CUSTOM_OP in self.data

    def __repr__(self) -> str:
        return f"ModelFile({self.name!r}, {self.size} bytes)"


def read_graph(path: str | os.PathLike[str]) -> Graph:
    """Read ``path`` and return its parsed graph (see :class:`ModelFile` to keep the bytes and metadata too).

    Raises:
        ModelNotFoundError: The file does not exist.
        ModelFormatError: Not a TFLite model, or truncated/corrupt.
    """
    return ModelFile.open(path).graph
