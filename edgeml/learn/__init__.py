"""Learning on the device, numpy only: teach new classes from a few frames, keep only embeddings, export a .tflite.

- :mod:`~edgeml.learn.examples`: the stored examples (embeddings and labels, per embedding model, mode 0600);
- :mod:`~edgeml.learn.heads`: imprinting and softmax regression → a :class:`Head`;
- :mod:`~edgeml.learn.export`: the head appended to the embedding model as TFLite ops;
- :mod:`~edgeml.learn.gate`: minimum score and multi-frame consensus, with an ``"unknown"`` answer.
"""

from __future__ import annotations

from edgeml.learn.examples import ExampleStore, LabelExamples, forget_everywhere, model_key
from edgeml.learn.export import export_head
from edgeml.learn.gate import UNKNOWN, Gate
from edgeml.learn.heads import METHODS, Head, fit, imprint, learn_head

__all__ = ["METHODS", "UNKNOWN", "ExampleStore", "Gate", "Head", "LabelExamples", "export_head", "fit",
           "forget_everywhere", "imprint", "learn_head", "model_key"]
