"""Postprocessing: dequantization, softmax and top-k are exact and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.postprocess import Classification, dequantize, softmax, to_scores, top_k
from edgeml.tensors import TensorSpec

U8 = TensorSpec("out", 0, (1, 4), np.dtype(np.uint8), 1 / 256, 0)
F32 = TensorSpec("out", 0, (1, 4), np.dtype(np.float32))


def test_dequantize_uint8_probabilities():
    np.testing.assert_allclose(dequantize(np.array([[0, 64, 128, 255]], np.uint8), U8), [[0, 0.25, 0.5, 255 / 256]])


def test_softmax_is_stable_for_large_logits():
    p = softmax(np.array([1000.0, 1000.0, -1000.0], np.float32))
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0], atol=1e-6)


def test_to_scores_detects_logits_and_keeps_probabilities():
    probs = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    np.testing.assert_allclose(to_scores(probs, F32), probs[0])
    logits = np.array([[2.0, -1.0, 0.5, 3.0]], np.float32)
    s = to_scores(logits, F32)
    assert s.argmax() == 3 and abs(float(s.sum()) - 1) < 1e-5
    np.testing.assert_allclose(to_scores(probs, F32, "logits"), softmax(probs[0]))


def test_top_k_orders_by_score_then_index_and_applies_threshold():
    scores = np.array([0.1, 0.4, 0.1, 0.4], np.float32)
    assert top_k(scores, ["a", "b", "c", "d"], 3) == [
        Classification(1, "b", pytest.approx(0.4)), Classification(3, "d", pytest.approx(0.4)),
        Classification(0, "a", pytest.approx(0.1)),
    ]
    assert [r.index for r in top_k(scores, None, 10, threshold=0.2)] == [1, 3]
    assert top_k(scores, None, 1)[0].label == "1"


def test_top_k_rejects_zero():
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        top_k(np.ones(3, np.float32), None, 0)


def test_scores_are_python_floats_in_unit_interval():
    r = top_k(to_scores(np.array([[0, 10, 250, 0]], np.uint8), U8), None, 4)
    assert all(isinstance(c.score, float) and 0.0 <= c.score <= 1.0 for c in r)
