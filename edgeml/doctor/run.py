"""``edgeml doctor``: diagnose the install on this machine, each finding with a status and the exact fix.

Checks run in order (see :mod:`edgeml.doctor.checks`); none of them opens a device, loads the Edge TPU library or
imports the camera stack, so doctor cannot hang on broken hardware. A finding has status ``ok``, ``warn`` (works,
but slower or fragile) or ``fail`` (blocks classifying images on this machine); any ``fail`` makes the command
exit 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from edgeml.boards.detect import Detection, detect
from edgeml.doctor import checks as c
from edgeml.doctor.finding import Finding
from edgeml.doctor.system_numpy import check_system_numpy
from edgeml.errors import BoardProfileError

__all__ = ["exit_code", "run_checks"]


def run_checks(root: str | os.PathLike[str] = "/") -> list[Finding]:
    """Run every check and return the findings, in order.

    Args:
        root: Where to read ``proc/``, ``sys/``, ``dev/`` and ``etc/`` (a recorded tree in tests). The Python
            environment checks always describe the running interpreter.
    """
    r = Path(root)
    findings: list[Finding] = []
    detection: Detection | None
    try:
        detection = detect(r)
        findings.append(c.board_finding(detection))
        findings.append(c.settings_finding(detection))
    except BoardProfileError as exc:
        detection = None
        findings.append(Finding("board", "warn", str(exc), "Use the nearest profile: edgeml boards list"))
    checks: list[Callable[[], Finding | list[Finding]]] = [
        lambda: c.check_python(r, detection),
        check_system_numpy,
        c.check_interpreter,
        lambda: c.check_edgetpu(r, detection),
        lambda: c.check_camera(r, detection),
        lambda: c.check_governor(r),
        lambda: c.check_throttling(r),
        lambda: c.check_disk(r),
        lambda: c.check_memory(r),
    ]
    for check in checks:
        try:
            result = check()
        except Exception as exc:  # a diagnostic tool must report, not crash, on a check it cannot complete
            name = getattr(check, "__name__", "check")
            findings.append(Finding(name, "warn", f"check could not complete: {type(exc).__name__}: {exc}",
                                    "Report this with `edgeml --verbose doctor` output"))
            continue
        findings.extend(result if isinstance(result, list) else [result])
    return findings


def exit_code(findings: list[Finding]) -> int:
    """Return 1 when any finding fails (something blocks classification), else 0."""
    return 1 if any(f.status == "fail" for f in findings) else 0
