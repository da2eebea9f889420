"""Decoders, beside preprocess/: raw output tensors to classes (classification) or to feature vectors
(embedding). Pure functions."""
