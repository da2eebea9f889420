"""Errors of the dataset loaders, shared by every module of :mod:`edgeml_converters.datasets`::

    EdgemlError
    ├── DatasetError         (+ ValueError)          a folder or file that cannot make a dataset
    └── DatasetMissingError  (+ FileNotFoundError)   the dataset's package or files are not installed
"""

from __future__ import annotations

from edgeml.errors import EdgemlError

__all__ = ["DatasetError", "DatasetMissingError"]


class DatasetError(EdgemlError, ValueError):
    """The data cannot make a classification dataset (missing folder, empty class, a single class, bad file...)."""


class DatasetMissingError(EdgemlError, FileNotFoundError):
    """The dataset's files are not installed."""
