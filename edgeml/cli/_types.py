"""Argument types: bad values are usage errors (exit 2), said in one line.

argparse turns an ``ArgumentTypeError`` into ``edgeml CMD: error: argument --x: ...`` and exit status 2, so every
range check lives in a type function here instead of a traceback from deep in the library.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from edgeml.errors import EdgemlError
from edgeml.frame import parse_size
from edgeml.interpreter.devices import DEVICES, parse_device

__all__ = ["board", "device", "frame_size", "non_negative_float", "non_negative_int", "port", "positive_float",
           "positive_int", "probability", "tensor_size"]


def _number(kind: Callable[[str], float], text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _checked(kind: Callable[[str], float], text: str, ok: Callable[[float], bool], rule: str) -> float:
    value = _number(kind, text)
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (``--threads``, ``--top-k``, ``--max-frames``, ...)."""
    return int(_checked(int, text, lambda v: v >= 1, ">= 1"))


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return int(_checked(int, text, lambda v: v >= 0, ">= 0"))


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port)."""
    return int(_checked(int, text, lambda v: 0 <= v <= 65535, "0..65535"))


def positive_float(text: str) -> float:
    """A finite number > 0 (``--fps``)."""
    return float(_checked(float, text, lambda v: v > 0, "> 0"))


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (``--source-timeout``, where 0 turns the check off)."""
    return float(_checked(float, text, lambda v: v >= 0, ">= 0"))


def probability(text: str) -> float:
    """A number in [0, 1] (``--threshold``)."""
    return float(_checked(float, text, lambda v: 0.0 <= v <= 1.0, "a probability between 0 and 1"))


def frame_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` → ``(width, height)``."""
    try:
        return parse_size(text, "WxH")
    except EdgemlError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None


def tensor_size(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (a model input, e.g. ``--input-size 224x224``) → ``(height, width)``."""
    try:
        return parse_size(text, "HxW")
    except EdgemlError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 224x224, got {text!r}") from None


def device(text: str) -> str:
    """A device string (``cpu``, ``auto``, ``usb``, ``usb:N``, ``pci``, ``pci:N``)."""
    try:
        parse_device(text)
    except EdgemlError:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DEVICES)}, got {text!r}") from None
    return text


def board(text: str) -> str:
    """A board profile name, ``auto`` (detect this machine) or ``none``."""
    if text in ("auto", "none"):
        return text
    from edgeml.boards import load_profiles

    names = load_profiles()
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown board {text!r}; valid: auto, none, {', '.join(names)}")
    return text
