"""Postprocessing: dequantization, softmax and top-k are exact and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.errors import LabelsError
from edgeml.postprocess.classification import (
    Classification,
    OutputDecoder,
    dequantize,
    label_mask,
    resolve_activation,
    softmax,
    to_scores,
    top_k_indices,
)
from edgeml.tensors import TensorSpec

U8 = TensorSpec("out", 0, (1, 4), np.dtype(np.uint8), 1 / 256, 0)
F32 = TensorSpec("out", 0, (1, 4), np.dtype(np.float32))


def decode(output, spec, labels=None, k=5, threshold=0.0, activation="softmax", mask=None):
    """One OutputDecoder call: what the Classifier does with every output tensor."""
    return OutputDecoder(spec, labels, activation, mask)(np.asarray(output), k, threshold)


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
    assert decode(scores, F32, ["a", "b", "c", "d"], 3) == [
        Classification(1, "b", pytest.approx(0.4)), Classification(3, "d", pytest.approx(0.4)),
        Classification(0, "a", pytest.approx(0.1)),
    ]
    assert [r.index for r in decode(scores, F32, None, 10, threshold=0.2)] == [1, 3]
    assert decode(scores, F32, None, 1)[0].label == "1"


def test_top_k_rejects_zero():
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        decode(np.ones(3, np.float32), F32, None, 0)


def test_scores_are_python_floats_in_unit_interval():
    r = decode(to_scores(np.array([[0, 10, 250, 0]], np.uint8), U8), F32, None, 4)
    assert all(isinstance(c.score, float) and 0.0 <= c.score <= 1.0 for c in r)


I8 = TensorSpec("out", 0, (1, 6), np.dtype(np.int8), 1 / 256, -128)


@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.25, 0.2500001, 0.5, 0.99, 1.5])
def test_quantized_threshold_keeps_exactly_what_the_float_threshold_keeps(threshold):
    raw = np.array([[-128, -64, -63, 0, 127, -90]], np.int8)
    real = (raw.astype(np.int64) - I8.zero_point) * I8.scale
    got = decode(raw, I8, None, 6, threshold, "softmax")
    assert [r.index for r in got] == [i for i in np.argsort(-real[0], kind="stable") if real[0, i] >= threshold]
    assert all(r.score == pytest.approx(real[0, r.index]) for r in got)  # no int8 wrap-around: -128 - (-128) = 0


def test_top_k_ties_go_to_the_lower_index_whatever_argpartition_does():
    rng = np.random.default_rng(1)
    for _ in range(50):
        values = rng.integers(0, 4, 1000).astype(np.uint8)
        k = int(rng.integers(1, 20))
        expected = np.argsort(-values.astype(int), kind="stable")[:k]
        np.testing.assert_array_equal(top_k_indices(values, k), expected)


def test_softmax_only_for_logits_and_auto_detects_quantized_softmax_outputs():
    # TFLite's quantized softmax always outputs scale 1/256, zero point 0 (uint8) or -128 (int8).
    assert resolve_activation(U8, None) == "softmax" and resolve_activation(I8, "auto") == "softmax"
    assert resolve_activation(TensorSpec("o", 0, (1, 4), np.dtype(np.uint8), 1 / 256, 12), "auto") == "auto"
    assert resolve_activation(TensorSpec("o", 0, (1, 4), np.dtype(np.int8), 0.1, 3), "auto") == "auto"
    assert resolve_activation(F32, "logits") == "logits"
    logits = np.array([[2.0, -1.0, 0.5, 3.0]], np.float32)
    got = decode(logits, F32, None, 4, 0.0, "logits")
    np.testing.assert_allclose([r.score for r in got], np.sort(softmax(logits[0]))[::-1], rtol=1e-6)


def test_allow_and_deny_lists():
    labels = ["cat", "dog", "car", "bus"]
    mask = label_mask(labels, 4, allow=["cat", "dog", 3], deny=["dog"])
    assert mask.tolist() == [True, False, False, True]
    assert label_mask(labels, 4) is None
    raw = np.array([[10, 200, 30, 5]], np.uint8)
    assert [r.label for r in decode(raw, U8, labels, 4, 0.0, "softmax", mask)] == ["cat", "bus"]
    with pytest.raises(LabelsError, match=r"Unknown class 'ca'.*Similar labels: \['cat', 'car'\]"):
        label_mask(labels, 4, deny=["ca"])
    with pytest.raises(LabelsError, match="index below 4"):
        label_mask(None, 4, allow=[4])


@pytest.mark.parametrize("dtype,zero_point", [(np.uint8, 0), (np.int8, -128)])
def test_both_quantized_top_k_paths_agree_with_a_stable_sort(dtype, zero_point):
    """Small k runs k argmax passes, large k argpartition: same classes, order and scores, masks and thresholds."""
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    spec = TensorSpec("out", 0, (1, 300), np.dtype(dtype), 1 / 256, zero_point)
    for trial in range(60):
        raw = rng.integers(info.min, info.min + 6 if trial % 2 else info.max + 1, (1, 300)).astype(dtype)
        mask = rng.random(300) > 0.3 if trial % 3 == 0 else None
        threshold = [0.0, 0.004, 0.3][trial % 3]
        real = (raw[0].astype(np.int64) - zero_point) / 256
        allowed = [int(i) for i in np.argsort(-real, kind="stable")
                   if real[i] >= threshold and (mask is None or mask[i])]
        before = raw.copy()
        for k in (1, 5, 16, 17, 400):
            got = decode(raw, spec, None, k, threshold, "softmax", mask)
            assert [r.index for r in got] == allowed[:k]
            assert [r.score for r in got] == [float(real[i]) for i in allowed[:k]]
        np.testing.assert_array_equal(raw, before)  # the output buffer it was given is never written
