"""Everything a run needs, resolved in one place and one order: explicit argument > board profile > model > default.

A run needs interpreter threads, a device (CPU or an Edge TPU) and what to do when that device is missing, a
frame source and the camera's format, and the preprocessing. Each comes from the first rung that says something:

==============  ===========================  ===================================  ===================  ============
setting         explicit argument            board profile (``boards/*.toml``)    model metadata       default
==============  ===========================  ===================================  ===================  ============
threads         ``num_threads=`` / --threads  ``threads`` (cores − 1), or detected  –                    interpreter's
                                              cores − 1 for generic profiles
device          ``device=`` / --device        ``edgetpu`` (built in or attached)    –                    ``"cpu"``
fallback        ``fallback=`` / --fallback    ``"cpu"`` when the device came from   –                    None (raise)
                                              the board (a kiosk keeps running)
source          ``source=`` / --source        ``source`` (``--source camera``)      –                    None
camera_format   ``camera_format=``            ``lores_format`` (picamera2)          –                    the source's
preprocessing   ``preprocessing=`` (fields)   a mapping's preprocessing fields      ``edgeml.json`` /    stretch, raw
                                                                                    TFLite metadata      pixels
==============  ===========================  ===================================  ===================  ============

No ``boards/*.toml`` profile sets preprocessing today (a profile has no such field); the board rung's
preprocessing comes from a mapping such as :func:`~edgeml.boards.runtime_defaults` returns, passed as ``board=``.

:func:`resolve_settings` returns :class:`RunSettings`, which also records where each value came from
(``edgeml classify -v``, ``edgeml boards show``, ``edgeml doctor`` print it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgeml.boards.defaults import Board, resolve_board, runtime_defaults
from edgeml.boards.detect import Detection
from edgeml.boards.profiles import LORES_TO_FRAME, BoardProfile
from edgeml.errors import InvalidArgumentError
from edgeml.interpreter.devices import check_fallback, parse_device
from edgeml.model.metadata import ModelMetadata
from edgeml.preprocess.settings import Preprocessing, preprocessing_fields, resolve_preprocessing

__all__ = ["CAMERA", "FIELDS", "NO_FALLBACK", "RunSettings", "board_values", "resolve_settings"]

FIELDS = ("threads", "device", "fallback", "source", "camera_format", "preprocessing")
NO_FALLBACK = "none"  # fallback="none": raise when the Edge TPU cannot be used, whoever chose the device
CAMERA = "camera"  # --source camera: this board's camera, whatever it is (picamera2, usb:0, v4l2:/dev/video0)
ARGUMENT, MODEL, DEFAULT = "argument", "model", "default"


@dataclass(frozen=True)
class RunSettings:
    """The resolved settings of one run, and where each value came from.

    Attributes:
        threads: Interpreter threads; None leaves the choice to the interpreter.
        device: ``"cpu"`` or an Edge TPU device string (``"usb"``, ``"usb:0"``, ``"pci"``, ``"auto"``).
        fallback: None (raise when the Edge TPU cannot be used) or ``"cpu"`` (run there, with a warning).
        source: A frame source string (``"picamera2"``, ``"usb:0"``, ...), or None (images are given instead).
        camera_format: picamera2 lores format (``"YUV420"``, ``"RGB888"``, ...), or None (the source decides).
        preprocessing: How frames become the model's input.
        board: The board profile the board rung came from, or None.
        origins: Setting name → ``"argument"``, ``"board <name>"`` (with why, for derived values), ``"model"``
            or ``"default"``.
    """

    threads: int | None = None
    device: str = "cpu"
    fallback: str | None = None
    source: str | None = None
    camera_format: str | None = None
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    board: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.threads is not None and (isinstance(self.threads, bool) or int(self.threads) < 1):
            raise InvalidArgumentError(f"num_threads must be >= 1 (or None for the interpreter's default). "
                                       f"Received: {self.threads!r}")
        parse_device(self.device)
        check_fallback(self.fallback)
        if self.camera_format is not None and self.camera_format not in LORES_TO_FRAME:
            raise InvalidArgumentError(f"camera_format must be one of {', '.join(LORES_TO_FRAME)} (picamera2's "
                                       f"names). Received: {self.camera_format!r}")

    @property
    def frame_format(self) -> str | None:
        """The edgeml Frame format of :attr:`camera_format` (picamera2 "RGB888" is B, G, R: ``"BGR"``)."""
        return LORES_TO_FRAME.get(self.camera_format or "")

    def origin(self, name: str) -> str:
        """Where setting ``name`` came from."""
        return self.origins.get(name, DEFAULT)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{setting: {"value": ..., "from": ...}}`` plus ``"board"``, JSON-ready."""
        out: dict[str, Any] = {"board": self.board}
        for name in FIELDS:
            value = getattr(self, name)
            out[name] = {"value": value.to_dict() if isinstance(value, Preprocessing) else value,
                         "from": self.origin(name)}
        return out

    def describe(self) -> list[str]:
        """One line per setting: name, value, where it came from."""
        lines = []
        for name in FIELDS:
            value = getattr(self, name)
            if isinstance(value, Preprocessing):
                value = ", ".join(f"{k}={v}" for k, v in value.to_dict().items())
            shown = "(interpreter's choice)" if name == "threads" and value is None else value
            lines.append(f"{name:<14}{shown!s:<28} from {self.origin(name)}")
        return lines


def board_values(board: Board | Mapping[str, Any] | Any | None) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """Return what ``board`` says (run-setting names), why each value (origins), and the profile name.

    ``board``: a profile name, ``"auto"`` (detect this machine), a :class:`~edgeml.boards.BoardProfile` or
    :class:`~edgeml.boards.Detection`, a mapping like :func:`~edgeml.boards.runtime_defaults` returns (keys
    ``num_threads``, ``device``, ``source``, ``lores_format``, ``preprocessing`` or preprocessing fields), or
    an object with a ``preprocessing`` attribute; None says nothing.
    """
    if board is None:
        return {}, {}, None
    if isinstance(board, Mapping):
        raw, name = dict(board), board.get("board")
        why: dict[str, str] = {}
    elif isinstance(board, (str, BoardProfile, Detection)):
        profile, detection = resolve_board(board)
        raw, name = runtime_defaults(detection or profile), profile.name
        why = {}
        if profile.threads is None and "num_threads" in raw and detection is not None:
            why["threads"] = f"{detection.facts.cores} cores, one kept for capture"
        if profile.edgetpu == "none" and "device" in raw:
            why["device"] = "attached " + ", ".join(a.name for a in detection.accessories) if detection else ""
    else:  # an object carrying preprocessing defaults only
        return {"preprocessing": board}, {"preprocessing": "board"}, None
    values = {"threads": raw.get("num_threads"), "device": raw.get("device"), "source": raw.get("source"),
              "camera_format": raw.get("lores_format"), "preprocessing": raw if _sets_preprocessing(raw) else None}
    if values["device"] is not None:
        values["fallback"] = "cpu"
        why.setdefault("fallback", "the board's Edge TPU is used when it works; else the CPU, with a warning")
    label = f"board {name}" if name else "board"
    origins = {k: f"{label} ({why[k]})" if why.get(k) else label for k, v in values.items() if v is not None}
    return {k: v for k, v in values.items() if v is not None}, origins, name


def _sets_preprocessing(raw: Mapping[str, Any]) -> bool:
    return "preprocessing" in raw or any(f in raw for f in Preprocessing.__dataclass_fields__)


def resolve_settings(
    *,
    threads: int | None = None,
    device: str | None = None,
    fallback: str | None = None,
    source: str | None = None,
    camera_format: str | None = None,
    preprocessing: Preprocessing | Mapping[str, Any] | None = None,
    board: Board | Mapping[str, Any] | Any | None = None,
    model: ModelMetadata | None = None,
) -> RunSettings:
    """Resolve every run setting: explicit argument > board profile > model metadata > default.

    Args:
        threads: Interpreter threads the caller asked for (None: nothing said, for this and every setting below).
        device: ``"cpu"``, ``"usb[:N]"``, ``"pci[:N]"`` or ``"auto"``.
        fallback: ``"cpu"`` to run on the CPU when the Edge TPU is missing; ``"none"`` says "raise" explicitly.
        source: A frame source; ``"camera"`` means the board's own camera source.
        camera_format: The picamera2 lores format (``"YUV420"``, ``"RGB888"``, ...).
        preprocessing: A full :class:`Preprocessing` or a mapping of some fields (``{"resize": "letterbox"}``).
        board: See :func:`board_values`; ``"auto"`` detects this machine.
        model: The model's metadata (its recorded preprocessing), or None.

    Raises:
        InvalidArgumentError: A value is out of range or unknown (the message names it and the valid ones).
        BoardProfileError: Unknown board name, or ``"auto"`` on a machine no profile matches.
    """
    if source == CAMERA and board is None:
        board = "auto"
    said, board_origins, board_name = board_values(board)
    explicit = {"threads": threads, "device": device, "fallback": fallback, "camera_format": camera_format,
                "source": None if source == CAMERA else source}
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, value in explicit.items():
        if name == "fallback" and value == NO_FALLBACK:  # said explicitly: raise, even for the board's TPU
            values[name], origins[name] = None, ARGUMENT
        elif value is not None:
            values[name], origins[name] = value, ARGUMENT
        elif name in said and name != "source" and not (name == "fallback" and device is not None):
            # An Edge TPU asked for explicitly is not silently replaced by the CPU: only the board's own TPU
            # falls back.
            values[name], origins[name] = said[name], board_origins[name]
    if source == CAMERA:  # the board's source is used only when asked for: images need none
        if "source" not in said:
            raise InvalidArgumentError(f"--source camera: board {board_name!r} names no camera source. Pass one: "
                                       "picamera2, usb:N or v4l2:/dev/videoN.")
        values["source"], origins["source"] = said["source"], f"{board_origins['source']} (--source camera)"
    model_prep = model.preprocessing if model is not None else None
    values["preprocessing"] = resolve_preprocessing(preprocessing, said.get("preprocessing"), model_prep)
    origins["preprocessing"] = _field_origins([(ARGUMENT, preprocessing),
                                               (board_origins.get("preprocessing", "board"),
                                                said.get("preprocessing")), (MODEL, model_prep)])
    return RunSettings(board=board_name, origins=origins, **values)


def _field_origins(levels: list[tuple[str, Any]]) -> str:
    """Say which rung set which preprocessing field, highest first: ``"argument (resize); model (mean, std)"``."""
    taken: set[str] = set()
    parts = []
    for origin, level in levels:
        names = [n for n in preprocessing_fields(level) if n not in taken]
        taken.update(names)
        if names:
            parts.append(f"{origin} ({', '.join(names)})")
    return "; ".join(parts) if parts else DEFAULT
