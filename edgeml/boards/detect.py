"""Which board profile is this machine? Matches :func:`edgeml.hardware.read_machine` facts to ``boards/*.toml``.

Rules, in order:

1. A ``board`` profile whose ``model_prefixes`` starts, or ``model_contains`` occurs in, the device-tree model
   (or, when the device tree is not mounted, the ``Model`` line of /proc/cpuinfo). The ``Hardware`` line is not
   used: every Raspberry Pi kernel since 4.9 prints ``BCM2835`` there.
2. Otherwise the ``generic`` profile for the CPU architecture.
3. ``accessory`` profiles are added on top when their USB IDs are present, unless the board has the same kind of
   Edge TPU built in (the Dev Board Mini's own TPU is a USB device too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from edgeml.boards.profiles import BoardProfile, load_profiles
from edgeml.errors import BoardProfileError
from edgeml.hardware import MachineFacts, read_machine

__all__ = ["Detection", "detect", "match_board"]


@dataclass(frozen=True)
class Detection:
    """The result of :func:`detect`: the board, any attached accessories, the facts and why it matched."""

    board: BoardProfile
    accessories: tuple[BoardProfile, ...]
    facts: MachineFacts
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"board": self.board.name, "title": self.board.title,
                "accessories": [a.name for a in self.accessories], "reason": self.reason,
                "facts": self.facts.to_dict()}


def match_board(facts: MachineFacts, profiles: dict[str, BoardProfile]) -> tuple[BoardProfile, str]:
    """Return the board profile the facts match and the reason.

    Raises:
        BoardProfileError: Neither a board model nor a known CPU architecture matched.
    """
    model = facts.model or facts.cpuinfo_model
    if model:
        for p in profiles.values():
            if p.kind != "board":
                continue
            if any(model.startswith(s) for s in p.detect.get("model_prefixes", ())):
                return p, f"device-tree model {model!r} starts with a {p.name} model prefix"
            if any(s in model for s in p.detect.get("model_contains", ())):
                return p, f"device-tree model {model!r} contains a {p.name} model marker"
    for p in profiles.values():
        if p.kind == "generic" and facts.arch in p.detect.get("machines", ()):
            what = f"model {model!r} is not a known board; " if model else "no device-tree model; "
            return p, what + f"CPU architecture {facts.arch}"
    generic = [p.name for p in profiles.values() if p.kind == "generic"]
    raise BoardProfileError(
        f"No board profile matches this machine (model={model!r}, arch={facts.arch!r}). Known generic profiles: "
        f"{', '.join(generic)}. Pass the board explicitly (e.g. --board linux-aarch64) or add a boards/*.toml.")


def _accessories(board: BoardProfile, facts: MachineFacts, profiles: dict[str, BoardProfile]) -> list[BoardProfile]:
    usb_tpus = [t for t in facts.edgetpus if t.kind == "usb"]
    found = []
    for p in profiles.values():
        if p.kind != "accessory" or not p.detect.get("usb_ids"):
            continue
        if usb_tpus and board.edgetpu != p.edgetpu:
            found.append(p)
    return found


def detect(root: str | os.PathLike[str] = "/") -> Detection:
    """Detect the board (and attached accessories) from the file tree under ``root``.

    Args:
        root: ``/`` for this machine, or a recorded tree holding ``proc/``, ``sys/`` and ``dev/`` of a real board.

    Raises:
        BoardProfileError: Nothing matched (an unknown board on an unknown architecture).
    """
    profiles = load_profiles()
    facts = read_machine(root)
    board, reason = match_board(facts, profiles)
    accessories = _accessories(board, facts, profiles)
    if accessories:
        states = ", ".join(f"{t.delegate_device} ({t.state})" for t in facts.edgetpus if t.kind == "usb")
        reason += f"; USB Edge TPU attached: {states}"
    return Detection(board, tuple(accessories), facts, reason)
