"""``store:NAME[@VERSION]``: a model named by the store, and the identity results carry (``model: {name, version}``).

``edgeml.Classifier("store:kiosk")`` runs what ``STORE/models/kiosk/current`` points at; ``"store:kiosk@3"`` pins
version 3 (a pinned classifier is never hot-swapped). For a model from the store, the store's manifest is the truth
about which model this is: :attr:`edgeml.Classifier.identity` is a :class:`StoreIdentity`, and every stream result
and ``--json`` line carries its :meth:`~StoreIdentity.to_dict`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeml.errors import InvalidArgumentError, ModelNotFoundError
from edgeml.store.layout import StoreLayout
from edgeml.store.manifest import check_model_name

__all__ = ["SCHEME", "StoreIdentity", "is_store_ref", "parse_ref", "resolve_ref"]

SCHEME = "store:"


@dataclass(frozen=True)
class StoreIdentity:
    """Which store model a classifier runs.

    Attributes:
        name: The model's name in the store.
        version: Its integer version (from the signed manifest).
        store: The store folder.
        pinned: True for ``store:NAME@VERSION`` (never hot-swapped).
        key_id: The key that signed it (None: installed ``--allow-unsigned``).
        report: The manifest's accuracy/agreement figures.
    """

    name: str
    version: int
    store: Path
    pinned: bool = False
    key_id: str | None = None
    report: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., "version": ...}``: what results carry."""
        return {"name": self.name, "version": self.version}

    @property
    def ref(self) -> str:
        """``store:NAME@VERSION``."""
        return f"{SCHEME}{self.name}@{self.version}"


def is_store_ref(model: object) -> bool:
    """True for a ``store:...`` string."""
    return isinstance(model, str) and model.startswith(SCHEME)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"store:kiosk@3"`` → ``("kiosk", 3)``; ``"store:kiosk"`` → ``("kiosk", None)``.

    Raises:
        InvalidArgumentError: Not of that form.
    """
    body = ref[len(SCHEME):] if ref.startswith(SCHEME) else ref
    name, at, version = body.partition("@")
    try:
        check_model_name(name)
    except ValueError as exc:
        raise InvalidArgumentError(f"{ref!r} is not store:NAME[@VERSION]: {exc}") from None
    if at and not version.isdigit():
        raise InvalidArgumentError(f"{ref!r}: the version after '@' must be an integer, e.g. store:{name}@3")
    return name, int(version) if at else None


def resolve_ref(ref: str, store: str | os.PathLike[str] | None = None, device: str | None = None
                ) -> tuple[Path, StoreIdentity]:
    """The ``.tflite`` a ``store:`` reference runs, and its identity.

    Args:
        ref: ``store:NAME`` (what ``current`` points at) or ``store:NAME@VERSION``.
        store: The store folder (None: ``$EDGEML_STORE`` or the default; see :mod:`edgeml.data_dir`).
        device: A TPU device picks the bundle's ``_edgetpu`` model when it has one.

    Raises:
        ModelNotFoundError: The name is not installed, nothing is activated, or the version is not installed.
    """
    name, version = parse_ref(ref)
    layout = StoreLayout(store)
    layout.require(name)
    chosen = version if version is not None else layout.current(name)
    if chosen is None:
        raise ModelNotFoundError(f"{name} has no active version in {str(layout.root)!r}. Activate one: `edgeml "
                                 f"models activate {name} VERSION` (or run store:{name}@VERSION).")
    if chosen not in layout.versions(name):
        raise ModelNotFoundError(f"{name} {chosen} is not installed in {str(layout.root)!r} (installed: "
                                 f"{', '.join(map(str, layout.versions(name)))}).")
    manifest = layout.manifest(name, chosen)
    path = layout.model_path(name, chosen, device or "cpu")
    key = layout.install_record(name, chosen).get("key_id")
    return path, StoreIdentity(name, chosen, layout.root, version is not None, key, dict(manifest.report))
