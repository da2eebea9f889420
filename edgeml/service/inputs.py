"""What ``edgeml service install`` checks and rewrites before it renders a unit: outputs as the unit gets them,
folders the unit may write, and a store model that is installed and active (a bad value fails at install time, not
in a crash-looping unit)."""

from __future__ import annotations

from pathlib import Path

from edgeml.service.unit import ServiceSpec

__all__ = ["check_output_dirs", "store_model", "unit_output"]


def unit_output(text: str) -> str:
    """Return one ``--output`` as the unit gets it: a bare path (the old ``--output FILE``) made absolute."""
    from edgeml.sinks.base import SCHEMES

    if text == "-" or text.partition(":")[0] in SCHEMES:
        return text
    return f"jsonl:{Path(text).expanduser().resolve()}"


def check_output_dirs(spec: ServiceSpec) -> None:
    """Refuse a ``jsonl:`` folder that does not exist: under ProtectSystem=strict the unit could not create it."""
    from edgeml.errors import ServiceConfigError

    for path in spec.jsonl_paths:
        folder = Path(path).parent
        if not folder.is_dir() and str(folder) != spec.store_dir:  # the store is created by systemd (StateDirectory)
            raise ServiceConfigError(f"--output jsonl:{path}: folder {str(folder)!r} does not exist, and the unit "
                                     f"may not create it. Create it for the service user first: "
                                     f"sudo install -d -o {spec.user} {folder}")


def store_model(ref: str, store: str | None) -> str:
    """Check that ``store:NAME`` is installed and activated in the store the unit will use."""
    from edgeml.data_dir import SERVICE_STORE
    from edgeml.store.identity import parse_ref, resolve_ref

    parse_ref(ref)
    resolve_ref(ref, store or SERVICE_STORE)  # not installed or nothing active: say so now, not in a crash loop
    return ref
