"""The real broker for tests and benchmarks: Debian's mosquitto on 127.0.0.1 at a free port, plus a subscriber.

Not a test double: :class:`Mosquitto` runs ``/usr/sbin/mosquitto`` with a temporary config (persistence on, saved
every second), so stopping and restarting it keeps retained messages and the persistent sessions of subscribers.
:class:`Subscriber` is a real paho-mqtt 2 client with a persistent session (``clean_session=False``, QoS 1, a fixed
client id), so messages published while it is away from a restarted broker are delivered when it reconnects.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MOSQUITTO = Path(os.environ.get("EDGEML_MOSQUITTO", "/usr/sbin/mosquitto"))
SKIP_REASON = "needs Debian's mosquitto (make test installs it) and paho-mqtt >= 2 (pip install -e '.[mqtt]')"


def available() -> bool:
    """True when the broker binary and paho-mqtt are both here."""
    return MOSQUITTO.is_file() and importlib.util.find_spec("paho") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """One broker process: ``start()``, ``stop()``, ``kill()``, ``restart()`` (same port, same data dir)."""

    def __init__(self, root: str | os.PathLike[str], port: int | None = None) -> None:
        self.root = Path(root)
        self.port = port or free_port()
        self.data = self.root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.log = self.root / "mosquitto.log"
        self.config = self.root / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence true",
                 f"persistence_location {self.data}/", "autosave_interval 1", "max_queued_messages 0",
                 f"log_dest file {self.log}", "log_type error", "log_type warning", "log_type notice"]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to "mosquitto" and cannot save to our folder
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Mosquitto:
        """Start the broker and wait until it accepts TCP connections."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s: {self._log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Signal the broker (SIGTERM: it saves its persistence file) and wait for it to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> Mosquitto:
        self.stop()
        return self.start()

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    """A running broker of this test's own (stopped afterwards); skips when mosquitto or paho is absent."""
    if not MOSQUITTO.is_file():
        pytest.skip("needs Debian's mosquitto (make test installs it)")
    if importlib.util.find_spec("paho") is None:
        pytest.skip("needs paho-mqtt >= 2 (pip install -e '.[mqtt]')")
    with tempfile.TemporaryDirectory(prefix="edgeml-mosquitto-") as tmp:
        broker = Mosquitto(tmp).start()
        try:
            yield broker
        finally:
            broker.kill()


class Subscriber:
    """A real paho client that collects the payloads of ``topics`` in arrival order (thread-safe).

    Args:
        port: The broker's port on 127.0.0.1.
        topics: Topic filters to subscribe to, QoS 1.
        client_id: Fixed, so the broker keeps this session (and queues for it) across its restarts.
    """

    def __init__(self, port: int, topics: list[str], client_id: str = "edgeml-test-subscriber") -> None:
        import paho.mqtt.client as mqtt

        self.topics = topics
        self.messages: list[tuple[str, bytes, bool, int]] = []  # (topic, payload, retained, qos)
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain), int(message.qos)))
            self._cond.notify_all()

    def wait_subscribed(self, timeout: float = 10.0) -> Subscriber:
        if not self._subscribed.wait(timeout):
            raise TimeoutError("the subscriber did not get its SUBACK")
        return self

    def payloads(self, topic: str | None = None) -> list[bytes]:
        with self._cond:
            return [m[1] for m in self.messages if topic is None or m[0] == topic]

    def wait_for(self, n: int, timeout: float = 10.0, topic: str | None = None) -> list[bytes]:
        """Wait until ``n`` payloads (of ``topic``, if given) have arrived; return them all. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [m[1] for m in self.messages if topic is None or m[0] == topic]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(got)} of {n} messages arrived within {timeout} s")
                self._cond.wait(left)

    def wait_until(self, predicate: Any, timeout: float = 10.0) -> list[bytes]:
        """Wait until ``predicate(payloads of every topic)`` is true; return the payloads. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [m[1] for m in self.messages]
                if predicate(got):
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the condition did not hold within {timeout} s ({len(got)} messages)")
                self._cond.wait(left)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
