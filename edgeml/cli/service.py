"""``edgeml service install``: write a systemd unit that classifies a camera stream as a kiosk."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("service", help="kiosk deployment: install a systemd unit",
                              description="Kiosk deployment with systemd (see boards/README.md).")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ins = sub.add_parser("install", help="write the unit that runs `edgeml classify --source` forever")
    ins.add_argument("--model", "-m", required=True, help="the .tflite model")
    ins.add_argument("--source", required=True, help="frame source, e.g. picamera2, usb:0, v4l2:/dev/video0")
    ins.add_argument("--output", help="append JSON results to this file (default: stdout, into the journal)")
    ins.add_argument("--user", help="run as this non-root user (default: $SUDO_USER or you)")
    ins.add_argument("--name", default="edgeml-kiosk", help="unit name (default: edgeml-kiosk)")
    ins.add_argument("--watchdog", type=int, default=30, help="WatchdogSec, seconds (default: 30)")
    ins.add_argument("--unit-dir", default="/etc/systemd/system", help="where to write NAME.service")
    ins.add_argument("--dry-run", "--print", dest="dry_run", action="store_true",
                     help="print the unit to stdout instead of writing it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml.errors import ServiceConfigError
    from edgeml.service import ServiceSpec, default_user, install_commands, render_unit

    model = Path(args.model).expanduser().resolve()
    if not model.is_file():
        raise ServiceConfigError(f"Model file not found: {str(model)!r}. Pass the .tflite the kiosk should run.")
    output = str(Path(args.output).expanduser().resolve()) if args.output else None
    spec = ServiceSpec(model=str(model), source=args.source, user=args.user or default_user(), output=output,
                       name=args.name, watchdog_s=args.watchdog)
    unit = render_unit(spec)
    if args.dry_run:
        print(unit, end="")
        return 0
    path = Path(args.unit_dir) / f"{args.name}.service"
    try:
        path.write_text(unit)
    except OSError as exc:
        raise ServiceConfigError(f"Cannot write {path}: {exc.strerror}. Run with sudo, or pass --unit-dir DIR "
                                 "or --print") from exc
    os.chmod(path, 0o644)
    print(path)
    log.info("Wrote %s. Start it with: %s", path, install_commands(args.name))
    return 0
