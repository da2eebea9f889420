"""What a board profile implies for a run: threads, device, source, camera format. Pure, given the detection.

These are the board rung of the one precedence chain (:mod:`edgeml.settings`): explicit argument > board profile >
model metadata > default. Only what the board actually says is returned, so a lower rung can fill the rest.

Threads always leave a core to the capture thread (and the OS): a profile's ``threads`` is cores − 1 on the 4-core
boards, and a generic profile (which cannot know its cores) gets cores − 1 of the detected machine. On 2 cores that is
1 interpreter thread: measured here, a 2-thread interpreter beside a decoding capture thread streams at 0.5-0.8 of
bare ``invoke()``, a 1-thread one at 0.96-0.98.
"""

from __future__ import annotations

from typing import Any

from edgeml.boards.detect import Detection, detect
from edgeml.boards.profiles import BoardProfile, get_profile

__all__ = ["Board", "resolve_board", "runtime_defaults", "threads_for_cores"]

Board = str | BoardProfile | Detection


def threads_for_cores(cores: int) -> int:
    """Interpreter threads for a machine of ``cores`` CPUs: all but one (for capture), at least 1."""
    return max(1, int(cores) - 1)


def resolve_board(board: Board) -> tuple[BoardProfile, Detection | None]:
    """Return the profile ``board`` names (``"auto"`` detects this machine) and the detection when there was one.

    Raises:
        BoardProfileError: Unknown name, or ``"auto"`` on a machine no profile matches.
    """
    if board == "auto":
        board = detect()
    if isinstance(board, Detection):
        return board.board, board
    if isinstance(board, str):
        return get_profile(board), None
    return board, None


def runtime_defaults(board: Board) -> dict[str, Any]:
    """Return the run defaults a board implies; keys are present only when the board sets them.

    ``board="auto"`` detects this machine (reads a few /proc and /sys files; no device is opened).

    Keys: ``num_threads`` (int), ``source`` (str), ``lores_format`` (picamera2 name), ``frame_format`` (edgeml
    Frame format), ``device`` (``"usb"``/``"pci"`` when an Edge TPU is built in or attached), ``board`` (name).
    A :class:`~edgeml.boards.detect.Detection` also fills ``num_threads`` of generic profiles from the detected
    core count (:func:`threads_for_cores`) and adds an attached accessory's Edge TPU.

    WRONG: ``Classifier(model, num_threads=runtime_defaults(b)["num_threads"])`` (KeyError on generic profiles).
    RIGHT: ``runtime_defaults(b).get("num_threads")``, or pass the board itself: ``Classifier(model, board=b)``.
    """
    profile, detection = resolve_board(board)
    out: dict[str, Any] = {"board": profile.name}
    threads = profile.threads
    if threads is None and detection is not None and detection.facts.cores:
        threads = threads_for_cores(detection.facts.cores)
    values = {"num_threads": threads, "source": profile.source, "lores_format": profile.lores_format,
              "frame_format": profile.frame_format, "device": None if profile.edgetpu == "none" else profile.edgetpu}
    if values["device"] is None and detection is not None:
        values["device"] = next((a.edgetpu for a in detection.accessories if a.edgetpu != "none"), None)
    out.update({k: v for k, v in values.items() if v is not None})
    return out
