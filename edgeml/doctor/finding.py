"""One ``edgeml doctor`` finding: what was checked, its status, what was seen and the exact fix."""

from __future__ import annotations

from dataclasses import dataclass

from edgeml.errors import InvalidArgumentError

__all__ = ["STATUSES", "Finding"]

STATUSES = ("ok", "warn", "fail")


@dataclass(frozen=True)
class Finding:
    """One diagnosis.

    Attributes:
        check: Short name (``"python"``, ``"interpreter"``, ``"libedgetpu"``, ...).
        status: ``"ok"``, ``"warn"`` or ``"fail"``.
        message: What was found, with the values seen.
        fix: The command or step that fixes it (empty when status is ok).
        details: Extra machine-readable values (versions, paths).
    """

    check: str
    status: str
    message: str
    fix: str = ""
    details: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InvalidArgumentError(f"Finding status must be one of {', '.join(STATUSES)}. "
                                       f"Received: {self.status!r}")
        if self.status != "ok" and not self.fix:
            raise InvalidArgumentError(f"Finding {self.check!r} is {self.status} but has no fix")

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"check": self.check, "status": self.status, "message": self.message, "fix": self.fix,
                **{k: v for k, v in self.details}}
