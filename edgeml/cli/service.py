"""``edgeml service install``: write a systemd unit that classifies a camera stream as a kiosk."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from edgeml.cli._args import add_run_options, non_negative_float, positive_int

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("service", help="kiosk deployment: install a systemd unit",
                              description="Kiosk deployment with systemd (see boards/README.md).")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ins = sub.add_parser("install", help="write the unit that runs `edgeml classify --source` forever")
    ins.add_argument("--model", "-m", required=True,
                     help="the .tflite model, or store:NAME: what the model store's current points at (hot swap, "
                          "commit or revert)")
    ins.add_argument("--store", metavar="DIR", help="the model store for store:NAME (default: /var/lib/edgeml, the "
                                                    "unit's StateDirectory)")
    ins.add_argument("--source", default="camera",
                     help="frame source, e.g. picamera2, usb:0, v4l2:/dev/video0 (default: camera, the board "
                          "profile's camera, resolved on the device at each start)")
    add_run_options(ins)
    ins.add_argument("--output", action="append", default=[], metavar="SINK",
                     help="where the unit sends results (repeatable), as `edgeml classify --output`: '-' (events "
                          "into the journal), jsonl:/ABS/PATH, mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC or "
                          "mqtts://...; a bare path means jsonl:PATH (default: --json lines into the journal). "
                          "Without an mqtt output the unit has no network at all; with one, only the broker")
    ins.add_argument("--emit", metavar="POLICY", help="passed to classify: every | change | interval:SECONDS")
    ins.add_argument("--heartbeat", type=non_negative_float, metavar="S", help="passed to classify (0: none)")
    ins.add_argument("--mqtt-ca", metavar="FILE", help="passed to classify: CA certificates for mqtts://")
    ins.add_argument("--user", help="run as this non-root user (default: $SUDO_USER or you)")
    ins.add_argument("--name", default="edgeml-kiosk", help="unit name (default: edgeml-kiosk)")
    ins.add_argument("--watchdog", type=positive_int, default=30, help="WatchdogSec, seconds (default: 30)")
    ins.add_argument("--unit-dir", default="/etc/systemd/system", help="where to write NAME.service")
    ins.add_argument("--dry-run", "--print", dest="dry_run", action="store_true",
                     help="print the unit to stdout instead of writing it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml.boards import get_profile
    from edgeml.errors import ServiceConfigError
    from edgeml.service import ServiceSpec, default_user, install_commands, render_unit
    from edgeml.service.inputs import check_output_dirs, store_model, unit_output
    from edgeml.settings import CAMERA, resolve_settings
    from edgeml.store.identity import is_store_ref

    if is_store_ref(args.model):
        model = store_model(args.model, args.store)
    else:
        path = Path(args.model).expanduser().resolve()
        if not path.is_file():
            raise ServiceConfigError(f"Model file not found: {str(path)!r}. Pass the .tflite the kiosk should run.")
        model = str(path)
    outputs = [unit_output(text) for text in args.output]
    mqtt_ca = str(Path(args.mqtt_ca).expanduser().resolve()) if args.mqtt_ca else None
    if mqtt_ca is not None and not Path(mqtt_ca).is_file():
        raise ServiceConfigError(f"--mqtt-ca file not found: {mqtt_ca!r}. Pass the CA bundle that signed the "
                                 "broker's certificate.")
    board = None if args.board == "auto" else args.board  # "auto" is what classify does anyway, at each start
    if board not in (None, "none"):
        get_profile(board)  # an unknown name fails here, not in a crash-looping unit
    if args.source == CAMERA:
        from edgeml.run import resolve_board

        resolve_settings(source=CAMERA, board=resolve_board(None if args.board == "none" else args.board))
    store = str(Path(args.store).resolve()) if args.store else None
    spec = ServiceSpec(model=model, store=store, source=args.source, user=args.user or default_user(),
                       outputs=tuple(outputs), emit=args.emit, heartbeat_s=args.heartbeat, mqtt_ca=mqtt_ca,
                       name=args.name, watchdog_s=args.watchdog, device=args.device, fallback=args.fallback,
                       board=board, threads=args.threads)
    check_output_dirs(spec)
    unit = render_unit(spec)  # resolves the MQTT brokers: a name that does not resolve fails here
    if args.dry_run:
        print(unit, end="")
        return 0
    path = Path(args.unit_dir) / f"{args.name}.service"
    try:
        path.write_text(unit)
    except OSError as exc:
        raise ServiceConfigError(f"Cannot write {path}: {exc.strerror}. Run with sudo, or pass --unit-dir DIR "
                                 "or --print") from exc
    # The unit is public, the store it runs from is not; an MQTT password makes the unit a secret too.
    os.chmod(path, 0o600 if spec.has_password else 0o644)
    if spec.has_password:
        log.warning("%s holds the MQTT password (mode 0600), but local users still see it in the process list "
                    "and `systemctl show`: give the kiosk a broker login of its own.", path)
    print(path)
    log.info("Wrote %s. Start it with: %s", path, install_commands(args.name))
    return 0
