"""``edgeml boards list|show NAME|detect``: the board profiles and which one this machine is."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgeml.settings import RunSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("boards", help="board profiles: list, show one, detect this machine",
                              description="Board profiles (boards/*.toml): list them, show one, or detect this "
                                          "machine's board and attached Edge TPUs.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    lst = sub.add_parser("list", help="list every profile")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    show = sub.add_parser("show", help="show one profile: runtime settings and install notes")
    show.add_argument("name", help="profile name, e.g. rpi-4b (see `edgeml boards list`)")
    show.add_argument("--json", action="store_true", help="the profile as one JSON object")
    det = sub.add_parser("detect", help="detect this machine's board (or a recorded tree with --root)")
    det.add_argument("--json", action="store_true", help="the detection as one JSON object")
    det.add_argument("--root", default="/", help="read proc/, sys/ and dev/ under DIR instead of / (default: /)")
    p.set_defaults(func=run)


def _show_text(d: dict) -> str:
    lines = [f"{d['title']} ({d['name']}, {d['kind']})"]
    for key in ("arch", "cores", "threads", "memory_mb", "camera", "lores_format", "frame_format", "source",
                "edgetpu"):
        if d[key] not in (None, []):
            lines.append(f"  {key:<13}{d[key]}")
    for key, values in d["install"].items():
        lines.append(f"  install.{key}")
        lines.extend(f"    - {value}" for value in values)
    for model, ms in d["reference_ms"].items():
        lines.append(f"  reference    {model}: {ms} ms")
    return "\n".join(lines)


def _settings_text(settings: RunSettings) -> str:
    lines = ["  run settings on this board (argument > board > model > default; a model adds its preprocessing):"]
    lines += [f"    {line}" for line in settings.describe() if not line.startswith("preprocessing")]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from edgeml.boards import detect, get_profile, load_profiles, runtime_defaults
    from edgeml.settings import resolve_settings

    if args.action == "list":
        for p in load_profiles().values():
            if args.json:
                print(json.dumps({"name": p.name, "title": p.title, "kind": p.kind, "arch": p.arch,
                                  "edgetpu": p.edgetpu}))
            else:
                print(f"{p.name:<22}{p.kind:<10}{p.arch:<8}  {p.title}")
    elif args.action == "show":
        profile = get_profile(args.name)
        d = profile.to_dict()
        settings = resolve_settings(board=profile, source="camera" if profile.source else None)
        d["settings"] = settings.to_dict()
        print(json.dumps(d) if args.json else _show_text(d) + "\n" + _settings_text(settings))
    else:
        found = detect(args.root)
        d = found.to_dict()
        d["defaults"] = runtime_defaults(found)
        settings = resolve_settings(board=found, source="camera" if found.board.source else None)
        d["settings"] = settings.to_dict()
        if args.json:
            print(json.dumps(d))
        else:
            extra = f" + {', '.join(a.title for a in found.accessories)}" if found.accessories else ""
            print(f"{found.board.title}{extra}  [{found.board.name}]")
            print(f"  why       {found.reason}")
            print(f"  defaults  {json.dumps(d['defaults'])}")
            print(_settings_text(settings))
    return 0
