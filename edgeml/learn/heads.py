"""The learned last layer, in numpy: weight imprinting or softmax regression on stored embeddings.

Both produce a :class:`Head`, ``scores = softmax(W @ normalize(e) + b)`` over the labels:

- :func:`imprint` (default; Qi et al., "Low-Shot Learning with Imprinted Weights", CVPR 2018; pycoral's
  ``imprinting_engine``): each class weight is the L2-normalised sum of its L2-normalised embeddings, bias 0, so
  the logit is the cosine similarity with the class centre, times a temperature. Fast, and works from one shot.
- :func:`fit` (pycoral's last-layer backprop): multinomial logistic regression with an L2 penalty (sklearn's
  ``C=1`` scaling), Nesterov-accelerated gradient descent to convergence. With enough examples (>= 5 a class)
  it first holds out 20% of each class and reports the accuracy on them, then refits on everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgeml.errors import InvalidArgumentError, LearnError
from edgeml.postprocess.embedding import l2_normalize

__all__ = ["DEFAULT_TEMPERATURE", "METHODS", "Head", "fit", "imprint", "learn_head"]

METHODS = ("imprint", "fit")
# Softmax temperature of an imprinted head: cosines differ by hundredths, so scale them to usable probabilities.
DEFAULT_TEMPERATURE = 16.0
_HOLD_OUT_MIN = 5  # examples per class needed to hold some out
_HOLD_OUT_FRACTION = 0.2


@dataclass(frozen=True)
class Head:
    """A linear head on normalised embeddings.

    Attributes:
        labels: Class names, in output order.
        weights: float32 ``(N, D)``; ``bias``: float32 ``(N,)``. Logits = ``weights @ normalize(e) + bias``.
        method: ``"imprint"`` or ``"fit"``.
        held_out_accuracy: Accuracy on held-out examples (``fit`` with enough examples), else None.
        held_out: How many examples were held out for it.
    """

    labels: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    method: str
    held_out_accuracy: float | None = None
    held_out: int = 0

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """Return float32 logits ``(n, N)`` of float embeddings ``(n, D)`` (or ``(N,)`` for one ``(D,)``)."""
        return (l2_normalize(embeddings) @ self.weights.T + self.bias).astype(np.float32)

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """Return class probabilities, float32 ``(n, N)`` (or ``(N,)``)."""
        z = self.logits(embeddings)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Return the index of the best class of each embedding, int64 ``(n,)``."""
        return np.argmax(self.logits(embeddings), axis=-1).astype(np.int64)


def _stack(examples: Sequence[tuple[str, np.ndarray]]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    if not examples:
        raise LearnError("Nothing learned yet: add examples first with `edgeml learn add LABEL --model "
                         "EMBEDDING.tflite IMAGES...`.")
    empty = [label for label, v in examples if len(v) == 0]
    if empty:
        raise LearnError(f"Label {empty[0]!r} has no examples: add some with `edgeml learn add {empty[0]!r} ...` "
                         "or forget it.")
    labels = tuple(label for label, _ in examples)
    x = np.concatenate([np.asarray(v, np.float32) for _, v in examples])
    y = np.concatenate([np.full(len(v), i, np.int64) for i, (_, v) in enumerate(examples)])
    return labels, l2_normalize(x), y


def imprint(examples: Sequence[tuple[str, np.ndarray]], temperature: float = DEFAULT_TEMPERATURE) -> Head:
    """Return the imprinted head of ``examples`` (``(label, float (n, D) embeddings)`` pairs, one per class).

    Raises:
        LearnError: No classes, or a class with no examples.
    """
    labels, x, y = _stack(examples)
    sums = np.zeros((len(labels), x.shape[1]), np.float32)
    np.add.at(sums, y, x)
    weights = l2_normalize(sums) * np.float32(temperature)
    return Head(labels, weights.astype(np.float32), np.zeros(len(labels), np.float32), "imprint")


def _softmax_regression(x: np.ndarray, y: np.ndarray, classes: int, c: float, iterations: int,
                        scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimise mean cross-entropy + ||W||² / (2 C n) on ``scale * x``; return ``(W, b)`` for unit ``x``."""
    n, d = x.shape
    xs = x * np.float32(scale)
    onehot = np.zeros((n, classes), np.float32)
    onehot[np.arange(n), y] = 1.0
    lam = 1.0 / (c * n)
    # Lipschitz constant of the gradient: softmax Hessian <= 1/2, features bounded by their Gram matrix.
    gram = float(np.linalg.norm(xs, ord=2)) ** 2 / n if n * d < 4e7 else float((xs * xs).sum(1).max())
    step = 1.0 / (0.5 * (gram + 1.0) + lam)
    w = np.zeros((d, classes), np.float32)
    b = np.zeros(classes, np.float32)
    w_prev, b_prev = w, b
    for k in range(iterations):
        momentum = k / (k + 3)
        vw, vb = w + momentum * (w - w_prev), b + momentum * (b - b_prev)
        z = xs @ vw + vb
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / n
        w_prev, b_prev = w, b
        w = vw - np.float32(step) * (xs.T @ g + lam * vw)
        b = vb - np.float32(step) * g.sum(axis=0)
    return (w.T * np.float32(scale)).astype(np.float32), b.astype(np.float32)


def fit(examples: Sequence[tuple[str, np.ndarray]], *, c: float = 1.0, iterations: int = 300, scale: float = 4.0,
        seed: int = 0) -> Head:
    """Return a softmax-regression head fitted on ``examples``, with held-out accuracy when there are enough.

    Args:
        examples: ``(label, float (n, D) embeddings)`` pairs, one per class.
        c: Inverse L2 penalty, as sklearn's ``LogisticRegression(C=...)``.
        iterations: Gradient steps.
        scale: Multiply the normalised embeddings by this before fitting: a weaker penalty on unit embeddings
            (4 measured best on Fashion-MNIST, 5 and 50 shots) and logits far enough apart for int8.
        seed: Seed of the held-out split.

    Raises:
        LearnError: No classes, or a class with no examples.
    """
    if c <= 0:
        raise InvalidArgumentError(f"c must be > 0. Received: {c}")
    labels, x, y = _stack(examples)
    classes = len(labels)
    accuracy, held = None, 0
    counts = np.bincount(y, minlength=classes)
    if classes >= 2 and counts.min() >= _HOLD_OUT_MIN:
        rng = np.random.default_rng(seed)
        test = np.zeros(len(y), bool)
        for k in range(classes):
            members = np.flatnonzero(y == k)
            test[rng.choice(members, max(1, round(len(members) * _HOLD_OUT_FRACTION)), replace=False)] = True
        w, b = _softmax_regression(x[~test], y[~test], classes, c, iterations, scale)
        accuracy = float(np.mean(np.argmax(x[test] @ w.T + b, axis=1) == y[test]))
        held = int(test.sum())
    w, b = _softmax_regression(x, y, classes, c, iterations, scale)
    return Head(labels, w, b, "fit", accuracy, held)


def learn_head(examples: Sequence[tuple[str, np.ndarray]], method: str = "imprint") -> Head:
    """Return the head ``method`` (``"imprint"`` or ``"fit"``) learns from ``examples``.

    Raises:
        InvalidArgumentError: Unknown method.
        LearnError: No classes, or a class with no examples.
    """
    if method not in METHODS:
        raise InvalidArgumentError(f"Unknown learning method {method!r}. Choose one of: {', '.join(METHODS)}.")
    return imprint(examples) if method == "imprint" else fit(examples)
