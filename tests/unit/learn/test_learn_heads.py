"""Learning in numpy: imprinted weights are normalised class sums, softmax regression separates, the gate waits."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml.errors import InvalidArgumentError, LearnError
from edgeml.learn import UNKNOWN, Gate, fit, imprint, learn_head
from edgeml.learn.heads import DEFAULT_TEMPERATURE
from edgeml.postprocess.classification import Classification
from edgeml.postprocess.embedding import cosine_similarity, l2_normalize


def _clusters(rng, classes=3, per_class=8, dim=32, spread=0.3):
    centres = l2_normalize(rng.normal(size=(classes, dim)))
    return [(f"class{k}", np.abs(centres[k] + spread * rng.normal(size=(per_class, dim)) / np.sqrt(dim)) * 3.0)
            for k in range(classes)]


def test_imprinted_weight_is_the_normalised_sum_of_normalised_embeddings_bias_zero():
    rng = np.random.default_rng(0)
    examples = _clusters(rng)
    head = imprint(examples)
    for k, (_, vectors) in enumerate(examples):
        expected = l2_normalize(l2_normalize(vectors).sum(axis=0)) * DEFAULT_TEMPERATURE
        np.testing.assert_allclose(head.weights[k], expected, rtol=1e-5, atol=1e-6)
    assert not head.bias.any() and head.method == "imprint"


def test_imprinting_works_from_one_shot_and_classifies_members():
    rng = np.random.default_rng(1)
    examples = _clusters(rng, per_class=9)
    one_shot = imprint([(label, v[:1]) for label, v in examples])
    rest = np.concatenate([v[1:] for _, v in examples])
    truth = np.repeat(np.arange(3), 8)
    assert np.mean(one_shot.predict(rest) == truth) > 0.9
    probs = one_shot.scores(rest)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_fit_reports_held_out_accuracy_only_with_five_examples_a_class():
    rng = np.random.default_rng(2)
    enough = fit(_clusters(rng, per_class=10))
    assert enough.held_out_accuracy is not None and enough.held_out == 6 and enough.held_out_accuracy > 0.8
    few = fit(_clusters(rng, per_class=4))
    assert few.held_out_accuracy is None and few.held_out == 0
    assert few.method == "fit" and few.weights.shape == (3, 32)


def test_a_label_with_no_examples_and_nothing_learned_are_errors_that_say_what_to_do():
    rng = np.random.default_rng(3)
    examples = _clusters(rng)
    with pytest.raises(LearnError, match="'empty' has no examples.*edgeml learn add"):
        imprint([*examples, ("empty", np.zeros((0, 32), np.float32))])
    with pytest.raises(LearnError, match="Nothing learned yet"):
        learn_head([], "fit")
    with pytest.raises(InvalidArgumentError, match="imprint, fit"):
        learn_head(examples, "backprop")


def test_cosine_similarity_of_vectors_and_matrices():
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    assert cosine_similarity(a, a * 5) == pytest.approx(1.0)
    np.testing.assert_allclose(cosine_similarity(b, a), [1.0, 0.0], atol=1e-6)
    assert cosine_similarity(b, b).shape == (2, 2)
    with pytest.raises(InvalidArgumentError, match="different dimensions"):
        cosine_similarity(a, np.ones(4))


@pytest.mark.parametrize(("min_score", "consensus", "frames", "answers"), [
    (0.0, 1, [("a", 0.9), ("b", 0.4)], ["a", "b"]),
    (0.5, 1, [("a", 0.9), ("b", 0.4)], ["a", UNKNOWN]),
    (0.5, 3, [("a", 0.9), ("a", 0.8), ("a", 0.7), ("b", 0.9)], [UNKNOWN, UNKNOWN, "a", UNKNOWN]),
    (0.5, 2, [("a", 0.9), ("a", 0.3), ("a", 0.9), ("a", 0.9)], [UNKNOWN, UNKNOWN, UNKNOWN, "a"]),
])
def test_gate_answers_only_above_the_minimum_score_when_frames_agree(min_score, consensus, frames, answers):
    gate = Gate(min_score, consensus)
    assert [gate.update([Classification(0, label, score)]) for label, score in frames] == answers


def test_gate_refuses_bad_settings():
    with pytest.raises(InvalidArgumentError):
        Gate(min_score=1.5)
    with pytest.raises(InvalidArgumentError):
        Gate(consensus=0)
