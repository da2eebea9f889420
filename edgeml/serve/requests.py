"""TF Serving's REST requests, answered by the server's own :class:`~edgeml.Classifier` (never the stream's).

An instance is ``{"b64": "<base64 JPEG/PNG/...>"}``, ``{"image": {"b64": ...}}`` (``image_bytes`` too, as Cloud
ML clients send), or pixels as a nested list of integers 0..255 shaped ``(H, W, 3)`` RGB, ``(H, W, 1)`` or
``(H, W)``. Responses follow TF Serving's documented shapes:

- ``:predict`` → ``{"predictions": [[p_0, ..., p_N-1], ...]}``: every class's probability, one row per instance
  (a model with one output tensor: TF Serving omits the name);
- ``:classify`` (``examples`` or ``instances``) → ``{"result": [[["label", score], ...], ...]}``: the top classes
  of each instance, best first.

Interpreters are not thread-safe: requests take turns on one lock, and a request that cannot get it within its
timeout fails with :class:`TimeoutError` (the app answers 503) instead of queueing forever.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeml.errors import EdgemlError, ImageError, InvalidArgumentError
from edgeml.image.load import FORMATS
from edgeml.serve.live import model_version

if TYPE_CHECKING:
    from PIL import Image

    from edgeml.inference.classifier import Classifier

__all__ = ["MAX_INSTANCES", "MAX_REQUEST_PIXELS", "RequestClassifier", "decode_instance", "parse_instances"]

log = logging.getLogger("edgeml.serve")

MAX_INSTANCES = 32
MAX_REQUEST_PIXELS = 12_000_000  # a few KB of PNG can declare 40 MP; a request never decodes more than this
_B64_KEYS = ("image", "image_bytes", "bytes", "input", "inputs")


def parse_instances(body: bytes, verb: str, limit: int = MAX_INSTANCES) -> list[Any]:
    """Return the instances of a ``:predict`` / ``:classify`` body.

    Raises:
        InvalidArgumentError: Not JSON, no ``instances`` (or, for classify, ``examples``) list, empty, or more than
            ``limit`` instances.
    """
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"The request body is not JSON ({exc}). Send "
                                   '{"instances": [{"b64": "<base64 image>"}]}') from None
    keys = ("instances", "examples") if verb == "classify" else ("instances",)
    instances = next((request[k] for k in keys if isinstance(request, dict) and k in request), None)
    if not isinstance(instances, list) or not instances:
        hint = " (columnar \"inputs\" is not supported)" if isinstance(request, dict) and "inputs" in request else ""
        raise InvalidArgumentError(f'The request needs a non-empty "{keys[-1]}" list{hint}: '
                                   '{"instances": [{"b64": "<base64 JPEG or PNG>"}]}')
    if len(instances) > limit:
        raise InvalidArgumentError(f"At most {limit} instances per request. Received: {len(instances)}")
    return instances


def decode_instance(instance: Any, max_pixels: int = MAX_REQUEST_PIXELS) -> Image.Image | np.ndarray:
    """Return one instance as an image the classifier takes: a PIL image (not yet decoded) or uint8 pixels.

    Raises:
        ImageError: Bad base64, not an image, larger than ``max_pixels``, or a pixel list of the wrong shape or
            values outside 0..255.
    """
    if isinstance(instance, dict):
        if "b64" in instance:
            return _open_b64(instance["b64"], max_pixels)
        for key in _B64_KEYS:
            value = instance.get(key)
            if isinstance(value, dict) and "b64" in value:
                return _open_b64(value["b64"], max_pixels)
            if isinstance(value, list):
                return _pixels(value, max_pixels)
        raise ImageError(f'An instance must be {{"b64": ...}}, {{"image": {{"b64": ...}}}} or a nested list of '
                         f"pixels. Received an object with keys {sorted(instance)[:8]}")
    if isinstance(instance, list):
        return _pixels(instance, max_pixels)
    raise ImageError(f'An instance must be {{"b64": ...}} or a nested list of pixels. Received: '
                     f"{type(instance).__name__}")


def _open_b64(text: Any, max_pixels: int) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if not isinstance(text, str):
        raise ImageError(f'"b64" must be a base64 string. Received: {type(text).__name__}')
    try:
        # TF Serving clients built on web-safe encoders send "-" and "_" for "+" and "/".
        data = base64.b64decode(text, altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f'"b64" is not valid base64 ({exc}).') from None
    if not data:
        raise ImageError('"b64" holds no bytes.')
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageError(f"The b64 bytes are not an image edgeml reads ({', '.join(FORMATS)}).") from None
    except Exception as exc:  # Pillow's header parsers raise assorted errors on crafted data
        raise ImageError(f"The b64 image cannot be read ({type(exc).__name__}: {exc}).") from None
    if im.size[0] * im.size[1] > max_pixels:
        raise ImageError(f"The image is {im.size[0]}x{im.size[1]}; a request may hold at most "
                         f"{max_pixels / 1e6:.0f} megapixels. Send it smaller.")
    return im


def _pixels(values: list[Any], max_pixels: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # numpy 1.23's VisibleDeprecationWarning for a ragged list
            warnings.simplefilter("ignore")
            array = np.asarray(values)
    except ValueError:  # numpy >= 1.24 refuses a ragged list
        array = None
    if array is None or array.dtype == object:  # numpy 1.23 makes it an object array (with a warning)
        raise ImageError("A pixel list must be rectangular: (H, W, 3), (H, W, 1) or (H, W).") from None
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3)):
        raise ImageError(f"A pixel list must be shaped (H, W, 3) RGB, (H, W, 1) or (H, W). "
                         f"Received: shape={array.shape}")
    if array.shape[0] * array.shape[1] > max_pixels or array.size == 0:
        raise ImageError(f"A pixel list of shape {array.shape} is empty or too large")
    if array.dtype.kind not in "iuf" or not np.all((array >= 0) & (array <= 255)):
        raise ImageError("Pixel values must be numbers in 0..255 (uint8).")
    return np.ascontiguousarray(np.rint(array).astype(np.uint8))


class RequestClassifier:
    """Answer prediction requests with one classifier, one request at a time.

    Args:
        classifier: The server's own :class:`~edgeml.Classifier` (the stream has another).
        name: The model name clients use in ``/v1/models/NAME``.
        top_k: Classes per instance for ``:classify`` (a request may ask for fewer or more with ``"top_k"``).
        threshold: Drop classes scoring below this from ``:classify`` results.
        timeout_s: Seconds a request may wait for the interpreter.
    """

    def __init__(self, classifier: Classifier, name: str, *, top_k: int = 5, threshold: float = 0.0,
                 timeout_s: float = 10.0, max_pixels: int = MAX_REQUEST_PIXELS) -> None:
        self.classifier, self.name = classifier, name
        self.top_k, self.threshold, self.timeout_s = top_k, threshold, timeout_s
        self.max_pixels = max_pixels
        self._lock = threading.Lock()
        self._unloadable: set[Any] = set()

    @property
    def model(self) -> dict[str, Any]:
        """What a stream result would say about this classifier: the store's name and version, or the file's stem."""
        return self.classifier.model_info

    @property
    def version(self) -> str:
        return model_version(self.model)

    def status(self) -> dict[str, Any]:
        """TF Serving's ``GetModelStatusResponse`` of the loaded version."""
        return {"model_version_status": [{"version": self.version, "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self) -> dict[str, Any]:
        """A ``GetModelMetadataResponse``-like view: the input tensor, the outputs and the labels."""
        clf = self.classifier
        spec = clf.input
        return {"model_spec": {"name": self.name, "version": self.version, "signature_name": "serving_default"},
                "metadata": {"signature_def": {"signature_def": {"serving_default": {
                    "inputs": {"image": {"dtype": "DT_STRING", "tensor_shape": {"dim": [{"size": "-1"}]},
                                         "name": "image_bytes (b64) or pixels uint8 [H, W, 3]"}},
                    "outputs": {"scores": {"dtype": "DT_FLOAT", "name": "probabilities",
                                           "tensor_shape": {"dim": [{"size": "-1"},
                                                                    {"size": str(clf.num_classes)}]}}},
                    "method_name": "tensorflow/serving/predict"}}}},
                "edgeml": {"input_shape": list(spec.shape), "input_dtype": spec.dtype_name,
                           "labels": list(clf.labels) if clf.labels is not None else None,
                           "model": self.model}}

    def follow(self, model: dict[str, Any] | None) -> None:
        """Answer with the stream's model from now on when a stream result names another version of it.

        The stream follows the store (hot swap, canary promotion, revert); this makes the REST side follow the
        stream, so ``/v1/models/NAME`` and ``:classify`` never lag ``/metrics`` and ``/events``. Called by the
        dispatcher's thread (never the camera's), once per result; the new classifier is built beside the old
        one, then swapped in between two requests. A version that fails to load here keeps the old one, said once.
        """
        ident = self.classifier.identity
        if ident is None or not model or model.get("name") != ident.name:
            return
        version = model.get("version")
        if version is None or version == ident.version or version in self._unloadable:
            return
        try:
            new = self.classifier.reopen(f"store:{ident.name}@{version}")
        except EdgemlError as exc:
            self._unloadable.add(version)
            log.warning("edgeml serve: the REST API keeps %s %s: version %s failed to load here: %s",
                        ident.name, ident.version, version, exc)
            return
        with self._lock:  # waits for a running request; requests wait at most timeout_s for the next one
            old, self.classifier = self.classifier, new
        old.close()
        log.info("edgeml serve: the REST API now answers with %s %s (was %s)", ident.name, version, ident.version)

    def _locked(self) -> threading.Lock:
        if not self._lock.acquire(timeout=self.timeout_s):
            raise TimeoutError(f"The model was busy for {self.timeout_s:.0f} s; try again")
        return self._lock

    def predict(self, instances: Sequence[Any]) -> dict[str, Any]:
        """Every class's probability for each instance (blocking: call it from a worker thread)."""
        images = [decode_instance(i, self.max_pixels) for i in instances]
        lock = self._locked()
        try:
            rows = [[round(float(p), 6) for p in self.classifier.scores(im)] for im in images]
        finally:
            lock.release()
        return {"predictions": rows}

    def classify(self, instances: Sequence[Any], top_k: int | None = None) -> dict[str, Any]:
        """The top classes of each instance as ``[label, score]`` pairs (blocking)."""
        images = [decode_instance(i, self.max_pixels) for i in instances]
        k = self.top_k if top_k is None else top_k
        lock = self._locked()
        try:
            result = [[[r.label, round(float(r.score), 6)] for r in self.classifier.classify(im, k, self.threshold)]
                      for im in images]
        finally:
            lock.release()
        return {"result": result}
