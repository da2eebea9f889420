"""``edgeml edgetpu``: Edge TPU tools that need neither TensorFlow nor the compiler.

- ``edgeml edgetpu check MODEL...``: predict, op by op, what edgetpu_compiler 16 maps to the Edge TPU and why not.
  Exit 0 when every model is fully mapped, 1 otherwise (usable as a CI gate).
- ``edgeml edgetpu devices``: list attached Edge TPUs (USB in either state, PCIe /dev/apex_N).
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("edgetpu", help="Edge TPU: offline compatibility check, attached devices",
                              description="Edge TPU tools (no TensorFlow, no compiler needed).")
    sub = p.add_subparsers(dest="edgetpu_command", metavar="ACTION", required=True)
    c = sub.add_parser("check", help="predict which ops edgetpu_compiler 16 maps to the Edge TPU, and why not",
                       description="Read a .tflite and predict, op by op in graph order, whether the Edge TPU runs "
                                   "it (op type and version, 8-bit tensors, static shapes, <= 3 non-unit innermost "
                                   "dims, Coral's per-op limits), where the graph leaves the TPU and what to change. "
                                   "Exit 0 when fully mapped, 1 otherwise.")
    c.add_argument("models", nargs="+", metavar="MODEL", help=".tflite files")
    c.add_argument("--json", action="store_true", help="one JSON object per model per line")
    c.add_argument("--all", action="store_true", help="list every op, not only those that leave the TPU")
    c.set_defaults(func=run_check)
    d = sub.add_parser("devices", help="list attached Edge TPUs (USB and PCIe)")
    d.add_argument("--json", action="store_true", help="one JSON object per device per line")
    d.add_argument("--root", default="/", help=argparse.SUPPRESS)  # a recorded file tree, for tests
    d.set_defaults(func=run_devices)


def run_check(args: argparse.Namespace) -> int:
    from edgeml.edgetpu.check import check_model, format_ops

    ok = True
    for path in args.models:
        report = check_model(path)
        ok = ok and report.ready
        if args.json:
            print(json.dumps(report.to_dict()), flush=True)
            continue
        print(f"{path}: {report.summary()}")
        print(format_ops(report, everything=args.all))
        for note in report.notes:
            print(f"  note: {note}")
    return 0 if ok else 1


def run_devices(args: argparse.Namespace) -> int:
    from edgeml.hardware import list_edgetpus

    devices = list_edgetpus(args.root)
    for d in devices:
        if args.json:
            print(json.dumps({"device": d.delegate_device, "kind": d.kind, "state": d.state, "path": d.path}))
        else:
            note = " (firmware loads on first use)" if d.state == "bootloader" else ""
            print(f"{d.delegate_device}  {d.kind}  {d.state}{note}  {d.path}")
    if not devices and not args.json:
        print("No Edge TPU found (USB 1a6e:089a / 18d1:9302, or /dev/apex_N). Plug in the USB Accelerator, or for "
              "PCIe/M.2 install the gasket-dkms driver from Coral's apt repository and reboot.")
    return 0 if devices else 1
