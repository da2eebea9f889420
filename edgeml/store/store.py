"""``ModelStore``: the model store on a device, in one object (what ``edgeml models ...`` calls).

Example::

    store = edgeml.store.ModelStore()                  # $EDGEML_STORE, or ~/.local/share/edgeml
    store.trust("publisher.pub")
    store.install("kiosk-3.edgeml", activate=True)     # signature, hashes, verifier, probe; then renamed into place
    store.status("kiosk")                              # {"current": 3, "committed": 2, "pending": {...}, ...}
    store.rollback("kiosk")                            # back to 2
    clf = edgeml.Classifier("store:kiosk")             # runs what `current` points at; clf.identity.version == 2
"""

from __future__ import annotations

import os
from typing import Any

from edgeml.store import health, install
from edgeml.store.check import Finding, verify_store
from edgeml.store.keys import trust
from edgeml.store.layout import StoreLayout

__all__ = ["ModelStore"]


class ModelStore(StoreLayout):
    """Read and change a model store (every change atomic; see :mod:`edgeml.store`)."""

    def install(self, source: str | os.PathLike[str], *, activate: bool = False, allow_unsigned: bool = False,
                probe: bool = True, timeout: float = 30.0) -> install.Installed:
        """Install a bundle or unpacked bundle folder (:func:`edgeml.store.install.install`)."""
        return install.install(self, source, activate=activate, allow_unsigned=allow_unsigned, probe=probe,
                               timeout=timeout)

    def remove(self, name: str, version: int) -> None:
        """Delete a version that is not current, committed or a requested canary."""
        install.remove(self, name, version)

    def activate(self, name: str, version: int, *, force: bool = False, health_frames: int | None = None,
                 max_starts: int | None = None, max_failures: int | None = None) -> None:
        """Make ``version`` current, pending its health window (:func:`edgeml.store.health.activate`)."""
        health.activate(self, name, version, force=force, health_frames=health_frames, max_starts=max_starts,
                        max_failures=max_failures)

    def canary(self, name: str, version: int, *, frames: int, min_agreement: float = 0.95, every: int = 5,
               max_latency_ratio: float | None = None, force: bool = False) -> dict[str, Any]:
        """Ask running streams to shadow ``version`` on every ``every``-th frame for ``frames`` comparisons."""
        return health.request_canary(self, name, version, frames=frames, min_agreement=min_agreement, every=every,
                                     max_latency_ratio=max_latency_ratio, force=force)

    def rollback(self, name: str) -> int:
        """Go back to the last committed version before the current one; return it."""
        return health.rollback(self, name)

    def begin_run(self, name: str) -> health.RunStart:
        """Count a start of a pending version (reverting it after too many); call before loading the model."""
        return health.begin_run(self, name)

    def status(self, name: str) -> dict[str, Any]:
        """Current, committed, pending, canary and bad versions of ``name``."""
        self.require(name)
        return health.status(self, name)

    def verify(self, name: str | None = None) -> list[Finding]:
        """Check every version's bytes, signature and models, and each pointer (:mod:`edgeml.store.check`)."""
        return verify_store(self, name)

    def trust(self, public_key: str | os.PathLike[str]) -> str:
        """Trust a publisher's public key (``STORE/trusted-keys/KEYID.pub``); return its id."""
        return trust(self.root, public_key)

    def describe(self, name: str) -> dict[str, Any]:
        """Everything ``edgeml models show`` prints: status plus each version's manifest and install record."""
        info = self.status(name)
        state = self.state(name)
        versions = []
        for v in self.versions(name):
            m, record = self.manifest(name, v), self.install_record(name, v)
            versions.append({"version": v, "created": m.created, "model": m.model, "edgetpu_model": m.edgetpu_model,
                             "files": len(m.files), "bytes": sum(f.size for f in m.files), "report": m.report,
                             "target": m.target, "key_id": record.get("key_id"),
                             "installed": record.get("installed"), "bad": state.is_bad(v),
                             "canary": state.canaries.get(str(v))})
        return {"name": name, **info, "versions": versions, "history": state.history[-20:]}
