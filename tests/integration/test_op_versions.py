"""The op-version table (from LiteRT's register.cc) is what the shipped interpreter really resolves.

For every builtin op, tiny_int8's CONV_2D op code is rewritten to that op at its highest listed version (the
interpreter must find a kernel) and one past it (it must not), and below the lowest when that is above 1.
An op whose kernel then refuses the borrowed CONV_2D options still counts as resolved: the error is not
"Didn't find op".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeml.model.schema import BUILTIN_OPERATORS
from edgeml.model.verify._op_versions import OP_VERSIONS
from tests.flatbuffer_patch import field_position, patch, view

Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter
TINY = (Path(__file__).resolve().parents[1] / "data" / "tiny_int8.tflite").read_bytes()
_CUSTOM = 32
_NOT_FOUND = ("Didn't find op", "Registration failed", "Missing registration")


def _resolves(code: int, version: int) -> bool:
    codes = view(TINY, "OperatorCode")
    row = int(np.flatnonzero(codes.scalars("builtin_code", "<i4") == 3)[0])  # CONV_2D's op code
    data = patch(TINY, field_position(TINY, "OperatorCode", "deprecated_builtin_code", row), "b", min(code, 127))
    data = patch(data, field_position(TINY, "OperatorCode", "builtin_code", row), "<i", code)
    data = patch(data, field_position(TINY, "OperatorCode", "version", row), "<i", version)
    try:
        Interpreter(model_content=data)
    except ValueError as exc:
        if any(s in str(exc) for s in _NOT_FOUND):
            return False
    return True


def test_every_builtin_op_version_matches_the_interpreter():
    wrong = []
    for code, name in enumerate(BUILTIN_OPERATORS):
        if code == _CUSTOM:
            continue
        low, high = OP_VERSIONS.get(code, (0, 0))
        expected = [True, False, False] if high else [False, False, False]
        got = [_resolves(code, high or 1), _resolves(code, (high or 1) + 1), low > 1 and _resolves(code, low - 1)]
        if got != expected:
            wrong.append((name, low, high, got))
    assert not wrong, wrong
