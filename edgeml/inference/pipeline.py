"""The one composition of the stages: frame → input tensor → ``invoke()`` → classes, timed.

Both :class:`edgeml.Classifier` and :class:`edgeml.streaming.Stream` run frames through a :class:`Pipeline`, so
every caller gets the same fast path and the same timings:

- :meth:`Pipeline.run`: plan (cached per frame geometry) and write straight into the interpreter's input tensor,
  invoke, rank the raw output in place: no intermediate tensor, no copy of the output.
- :meth:`Pipeline.prepare` + :meth:`Pipeline.run_prepared`: the same plan writes into a staging buffer on another
  thread (a stream's capture thread, overlapping the previous ``invoke()``), then one copy into the interpreter.

TFLite's rule is kept throughout: never hold a view of a tensor buffer across ``invoke()``; take a fresh one for
each write and read, and drop it before the interpreter runs. The interpreter is not thread-safe, so every use of
it goes through one lock.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

from edgeml.errors import ModelFormatError, one_line
from edgeml.frame import Frame
from edgeml.inference.prediction import Prediction, Timings
from edgeml.preprocess import InputPlanner
from edgeml.tensors import TensorSpec

__all__ = ["BufferPool", "Decoder", "Pipeline"]


class Decoder(Protocol):
    """Turns the raw output tensor into results: classes
    (:class:`edgeml.postprocess.classification.OutputDecoder`) or an embedding
    (:class:`edgeml.postprocess.embedding.EmbeddingDecoder`, which ignores ``k`` and ``threshold``).

    ``output`` is a view of the interpreter's buffer, valid only during the call: copy what is kept.
    """

    def __call__(self, output: np.ndarray, k: int, threshold: float) -> list[Any]: ...


class BufferPool:
    """Reusable input-shaped staging buffers, so a stream allocates none per frame.

    A buffer is taken with :meth:`acquire` and handed back with :meth:`release` once its values were copied into
    the interpreter (or its frame was dropped). The pool grows only to the number of buffers in flight at once.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.shape, self.dtype = shape, dtype
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.allocated = 0

    def acquire(self) -> np.ndarray:
        with self._lock:
            if self._free:
                return self._free.pop()
            self.allocated += 1
        return np.empty(self.shape, self.dtype)

    def release(self, buffer: np.ndarray) -> None:
        with self._lock:
            self._free.append(buffer)


class Pipeline:
    """Frames through one interpreter: plan → write input → invoke → decode, with per-stage timings.

    Args:
        interpreter: An allocated TFLite ``Interpreter`` with one image input and one output (class scores for a
            Classifier, a feature vector for an Embedder).
        input: Its input tensor.
        output: Its output tensor.
        planner: How frames become the input's values (plan cache included).
        decoder: How the raw output becomes results (classes: labels, allow/deny, threshold on raw integers; or
            an embedding).
    """

    def __init__(self, interpreter: Any, input: TensorSpec, output: TensorSpec, planner: InputPlanner,
                 decoder: Decoder) -> None:
        self.interpreter = interpreter
        self.input, self.output = input, output
        self.planner, self.decoder = planner, decoder
        # Functions returning fresh views of the interpreter's buffers: safe to keep, unlike the views themselves.
        self._input_view = interpreter.tensor(input.index)
        self._output_view = interpreter.tensor(output.index)
        self._lock = threading.Lock()  # the interpreter's
        self._plan_lock = threading.Lock()  # the planner's cache: never held across invoke()
        self.buffers = BufferPool(input.shape, input.dtype)

    def run(self, frame: Frame, top_k: int = 5, threshold: float = 0.0, decode_s: float = 0.0) -> Prediction[Any]:
        """Classify ``frame``: written straight into the input tensor, only the winners dequantized.

        Args:
            frame: Any :class:`Frame`.
            top_k: Classes to return at most (>= 1; checked by the caller).
            threshold: Drop classes scoring below this probability.
            decode_s: Seconds the caller spent turning its input into ``frame`` (reported as ``decode``).
        """
        with self._lock:
            t1 = time.perf_counter()
            with self._plan_lock:
                writer = self.planner.writer(frame)
            view = self._input_view()
            try:
                writer(frame, view[0])
            finally:
                del view
            t2 = time.perf_counter()
            self._invoke()
            t3 = time.perf_counter()
            results = self._decode(top_k, threshold)
            t4 = time.perf_counter()
        return Prediction(results, Timings(decode_s, t2 - t1, t3 - t2, t4 - t3))

    def prepare(self, frame: Frame, out: np.ndarray | None = None) -> np.ndarray:
        """Write ``frame``'s input values into ``out`` (a staging buffer of the input's shape; new when None).

        Runs beside :meth:`run_prepared` on another thread: it never waits for ``invoke()``.
        """
        if out is None:
            out = np.empty(self.input.shape, self.input.dtype)
        with self._plan_lock:
            writer = self.planner.writer(frame)
        writer(frame, out[0])
        return out

    def run_prepared(self, tensor: np.ndarray, top_k: int = 5, threshold: float = 0.0,
                     preprocess_s: float = 0.0) -> Prediction[Any]:
        """Classify an input tensor from :meth:`prepare`: one copy into the interpreter, invoke, decode in place.

        Raises:
            ModelFormatError: ``tensor`` does not match the model's input shape or dtype, or the model fails to run.
        """
        self._check(tensor)
        with self._lock:
            t1 = time.perf_counter()
            self.interpreter.set_tensor(self.input.index, tensor)
            t2 = time.perf_counter()
            self._invoke()
            t3 = time.perf_counter()
            results = self._decode(top_k, threshold)
            t4 = time.perf_counter()
        return Prediction(results, Timings(0.0, preprocess_s + (t2 - t1), t3 - t2, t4 - t3))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model on a prepared input tensor; return a copy of the raw output tensor.

        Raises:
            ModelFormatError: ``tensor`` does not match the model's input shape or dtype.
        """
        self._check(tensor)
        with self._lock:
            self.interpreter.set_tensor(self.input.index, tensor)
            self._invoke()
            return self.interpreter.get_tensor(self.output.index).copy()

    def _invoke(self) -> None:
        """``invoke()``; an interpreter error (a model that loads but cannot run) becomes ModelFormatError."""
        try:
            self.interpreter.invoke()
        except RuntimeError as exc:
            raise ModelFormatError(f"The model failed while running: {one_line(exc).rstrip('.')}. The file is damaged "
                                   "or was written by a faulty tool: copy it again, or convert it again.") from exc

    def _decode(self, top_k: int, threshold: float) -> list[Any]:
        try:
            output = self._output_view()
        except ValueError as exc:  # "Tensor data is null": an output nothing wrote
            raise ModelFormatError(f"The model's output has no data after running: {one_line(exc).rstrip('.')}. "
                                   "The file is damaged or was written by a faulty tool: copy it again, or convert "
                                   "it again.") from exc
        try:
            return self.decoder(output, top_k, threshold)
        finally:
            del output

    def _check(self, tensor: np.ndarray) -> None:
        if tensor.shape != self.input.shape or tensor.dtype != self.input.dtype:
            raise ModelFormatError(
                f"Input tensor must be {self.input.dtype_name} of shape {self.input.shape}. "
                f"Received: dtype={tensor.dtype}, shape={tensor.shape}. Use Classifier.preprocess(image)."
            )

    def close(self) -> None:
        """Drop the interpreter and its buffer views."""
        self._input_view = self._output_view = None
        self.interpreter = None
