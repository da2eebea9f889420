"""``edgeml doctor``: check this machine's install; each finding with a status and the exact fix."""

from __future__ import annotations

import argparse
import json

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="diagnose the install: interpreter, Edge TPU, camera, power",
                              description="Diagnose the install on this machine. Exit status 1 when something "
                                          "blocks classification.")
    p.add_argument("--json", action="store_true", help="one JSON object per finding")
    p.add_argument("--root", default="/", help="read proc/, sys/, dev/ and etc/ under DIR (default: /)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgeml.doctor import exit_code, run_checks

    findings = run_checks(args.root)
    for f in findings:
        if args.json:
            print(json.dumps(f.to_dict()), flush=True)
        else:
            print(f"[{_MARK[f.status]}] {f.check:<15}{f.message}")
            if f.fix:
                print(f"       {'fix:':<15}{f.fix}")
    return exit_code(findings)
