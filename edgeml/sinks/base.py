"""The sink protocol: where a stream's events go (``--output``), and the parsing of ``--output`` strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from edgeml.errors import InvalidArgumentError
from edgeml.sinks.emit import EmitPolicy

__all__ = ["SCHEMES", "Sink", "SinkSpec", "parse_output"]

SCHEMES = ("-", "jsonl", "mqtt", "mqtts")


@runtime_checkable
class Sink(Protocol):
    """A destination for schema-1 events (:mod:`edgeml.sinks.events`).

    ``write`` is called on the dispatcher's thread (:class:`~edgeml.sinks.dispatch.Dispatcher`), never on the
    inference thread, with the events of one batch in order; it must not block for long (a network sink commits
    to its outbox and returns). ``close`` flushes what it can within ``timeout`` seconds and never hangs.
    """

    name: str  # e.g. "stdout", "jsonl:/var/log/edgeml.jsonl", "mqtt://broker:1883/edgeml/kiosk1" (no password)
    policy: EmitPolicy
    needs_network: bool

    def write(self, events: Sequence[dict[str, Any]]) -> None: ...

    def close(self, timeout: float = 5.0) -> None: ...

    def status(self) -> dict[str, Any]:
        """Counters for /metrics and the stats line: e.g. ``sent``, ``dropped``, ``outbox_depth``, ``connected``,
        ``reconnects`` (each sink reports what applies to it)."""
        ...


class SinkSpec:
    """One parsed ``--output`` string: ``scheme`` and the rest (``target``), checked but not opened."""

    def __init__(self, text: str) -> None:
        self.text = text
        if text == "-":
            self.scheme, self.target = "-", ""
            return
        scheme, sep, rest = text.partition(":")
        if not sep or scheme not in SCHEMES[1:] or not rest:
            raise InvalidArgumentError(f"--output must be -, jsonl:PATH, mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC "
                                       f"or mqtts://... Received: {text!r}")
        if scheme in ("mqtt", "mqtts") and not rest.startswith("//"):
            raise InvalidArgumentError(f"--output {scheme}: needs //HOST/TOPIC, e.g. {scheme}://127.0.0.1/edgeml. "
                                       f"Received: {text!r}")
        self.scheme, self.target = scheme, rest

    @property
    def needs_network(self) -> bool:
        return self.scheme in ("mqtt", "mqtts")

    def __repr__(self) -> str:
        return f"SinkSpec({self.scheme!r})"


def parse_output(texts: Sequence[str]) -> list[SinkSpec]:
    """Parse every ``--output``; refuse duplicates (two sinks writing one file would interleave)."""
    specs = [SinkSpec(t) for t in texts]
    seen: set[str] = set()
    for s in specs:
        if s.text in seen:
            raise InvalidArgumentError(f"--output {s.text!r} is given twice")
        seen.add(s.text)
    return specs
