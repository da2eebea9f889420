"""Model versions on the device: signed bundles, an atomic store, commit-or-revert, canaries.

- :mod:`~edgeml.data_dir`: where the store is (``--store`` > ``$EDGEML_STORE`` > ``/var/lib/edgeml`` for the
  service, ``~/.local/share/edgeml`` for a user) and its sub-folders;
- :mod:`~edgeml.store.manifest`, :mod:`~edgeml.store.keys`, :mod:`~edgeml.store.bundle`: the signed ``.edgeml``
  bundle (Ed25519 over the canonical manifest; the ``[store]`` extra);
- :mod:`~edgeml.store.layout` (read), :mod:`~edgeml.store.install`, :mod:`~edgeml.store.health` (activate,
  commit, revert, rollback, canary), :mod:`~edgeml.store.check` (verify), :mod:`~edgeml.store.atomic` (the
  crash-proof steps), :mod:`~edgeml.store.state` (``state.json``);
- :mod:`~edgeml.store.identity`: ``store:NAME[@VERSION]`` and the ``model: {name, version}`` results carry;
- :class:`ModelStore` (:mod:`~edgeml.store.store`): all of it in one object.

Only :mod:`~edgeml.data_dir` (``store_dir``, ``private_dir``, ``STORE_ENV``, ``SERVICE_STORE``, which
:mod:`edgeml.learn` and the service unit use) loads with the package; the rest is imported when used
(``import edgeml`` stays light; ``cryptography`` loads only to sign or verify).
"""

from __future__ import annotations

import importlib
from typing import Any

from edgeml.data_dir import SERVICE_STORE, STORE_ENV, private_dir, resolve_store, store_dir

__all__ = ["SERVICE_STORE", "STORE_ENV", "ModelStore", "StoreIdentity", "create_bundle", "generate_keys",
           "is_store_ref", "private_dir", "resolve_ref", "resolve_store", "store_dir"]

_WHERE = {"ModelStore": "store", "StoreIdentity": "identity", "create_bundle": "bundle", "generate_keys": "keys",
          "is_store_ref": "identity", "resolve_ref": "identity"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"edgeml.store.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'edgeml.store' has no attribute {name!r}")
