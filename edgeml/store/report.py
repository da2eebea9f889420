"""What ``edgeml models list`` and ``show`` say about the store, as text lines (pure: facts in, lines out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["activated_line", "canary_line", "install_lines", "list_lines", "model_row", "show_lines"]


def model_row(store: Any, name: str) -> dict[str, Any]:
    """One model's versions and pointers: what ``models list --json`` prints per model."""
    status = store.status(name)
    return {"name": name, "versions": store.versions(name), "current": status["current"],
            "committed": status["committed"], "pending": (status["pending"] or {}).get("version"),
            "canary": (status["canary"] or {}).get("version"), "bad": sorted(int(v) for v in status["bad"])}


def list_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per :func:`model_row`."""
    lines = []
    for r in rows:
        extra = "".join(f", {k} {r[k]}" for k in ("pending", "canary") if r[k] is not None)
        bad = f", bad {r['bad']}" if r["bad"] else ""
        lines.append(f"{r['name']}: versions {r['versions']}, current {r['current']}, committed {r['committed']}"
                     f"{extra}{bad}")
    return lines


def show_lines(info: dict[str, Any], root: Path | str) -> list[str]:
    """``models show NAME``: pointers, pending and canary requests, each version, the last events."""
    lines = [f"{info['name']}  current {info['current']}  committed {info['committed']}  ({root})"]
    if info["pending"]:
        p = info["pending"]
        lines.append(f"  pending: {p['version']} (starts {p['starts']}/{p['max_starts']}, health window "
                     f"{p['health_frames']} frames)")
    if info["canary"]:
        c = info["canary"]
        lines.append(f"  canary requested: {c['version']} against {c['against']}, {c['frames']} frames, every "
                     f"{c['every']}, min agreement {c['min_agreement']:.0%}")
    for v in info["versions"]:
        lines += _version_lines(v, info)
    for e in info["history"][-8:]:
        details = ", ".join(f"{k} {e[k]}" for k in ("previous", "reason") if e.get(k) is not None)
        lines.append(f"  {e['at']}  {e['event']} {e['version']}" + (f" ({details})" if details else ""))
    return lines


def _version_lines(v: dict[str, Any], info: dict[str, Any]) -> list[str]:
    flags = [f for f, on in (("current", v["version"] == info["current"]),
                             ("committed", v["version"] == info["committed"])) if on]
    signer = f"key {v['key_id']}" if v["key_id"] else "unsigned"
    figures = ", ".join(f"{k} {x}" for k, x in v["report"].items())
    lines = [f"  {v['version']:>4}  {v['created']}  {v['model']}  {v['bytes'] / 1024:.0f} KiB  {signer}"
             + (f"  [{', '.join(flags)}]" if flags else "") + (f"  ({figures})" if figures else "")]
    if v["bad"]:
        lines.append(f"        BAD: {v['bad']['reason']}")
    if v["canary"]:
        c = v["canary"]
        lines.append(f"        canary {'PROMOTED' if c['passed'] else 'REJECTED'}: {c['reason']}; latency p50 "
                     f"{c.get('latency_ms_p50')} ms vs {c.get('current_latency_ms_p50')} ms")
    return lines


def install_lines(done: Any) -> list[str]:
    """``models install``: what was installed, who signed it, and each check's summary."""
    m = done.manifest
    signer = f"signed by {done.key_id}" if done.key_id else "UNSIGNED (allowed by --allow-unsigned; recorded)"
    activated = "; activated, pending its health window" if done.activated else ""
    return [f"installed {m.name} {m.version} ({signer}) in {done.path}{activated}",
            *(f"  {name}: {summary}" for name, summary in done.checks.items())]


def activated_line(name: str, version: int, status: dict[str, Any]) -> str:
    """``models activate``: the version is current, committed or pending its health window."""
    state = "committed" if status["pending"] is None else "pending its health window"
    return f"{name} {version} is current ({state}); running streams swap to it between two frames"


def canary_line(name: str, version: int, req: dict[str, Any]) -> str:
    """``models activate --canary``: what the running stream will do with the request."""
    return (f"canary of {name} {version} requested: the running stream shadows it against {req['against']} on "
            f"every {req['every']}-th frame for {req['frames']} frames, then promotes it (top-1 agreement >= "
            f"{req['min_agreement']:.0%}) or marks it bad; see `edgeml models show {name}`")
