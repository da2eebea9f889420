"""What the semantic checks raise, and the small helpers every one of them words its errors with."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["CUSTOM", "INT32_MAX", "SemanticError", "Where", "shape_of"]

Where = Callable[[int], str]  # row -> "subgraph 0 op 12 CONV_2D", only called to word an error
INT32_MAX = 2**31 - 1
CUSTOM = 32


class SemanticError(Exception):
    """A file whose structure is sound but whose contents are not: ``where`` and ``problem`` say which.

    Attributes:
        runtime: True when the file is sound but this interpreter cannot run it (an op version it lacks).
    """

    def __init__(self, where: str, problem: str, runtime: bool = False) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where, self.problem, self.runtime = where, problem, runtime


def shape_of(dims: np.ndarray, rank: np.ndarray, i: int) -> list[int]:
    """Tensor ``i``'s shape from the concatenated dims and per-tensor ranks."""
    start = int(rank[:i].sum())
    return dims[start:start + int(rank[i])].tolist()


