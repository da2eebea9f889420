"""``--output mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC``: events published with QoS 1 through a durable outbox.

``write`` commits the batch to the SQLite outbox (:mod:`edgeml.sinks.outbox`) and returns: the event counts as
emitted from then on, whether or not a broker is reachable. A drainer thread publishes the outbox's rows in order
to ``TOPIC/events`` with at most :data:`WINDOW` unacknowledged, and deletes a row when the broker's PUBACK for it
arrives. On a disconnect it forgets what was in flight and, after paho's own reconnect (1 s to 30 s back-off),
republishes from the outbox's head: delivery is at least once, and the duplicates (only of events not yet
acknowledged) are removed by consumers through the event ``id``. A broker that is down at start is not an error.
``close`` does not wait out that back-off: it tries a broker that is away at once, and drains what it can within
its timeout; the rest stays in the outbox for the next run.

``TOPIC/availability`` is ``online`` (retained) while connected and ``offline`` after a clean close or, through the
last will, when the process dies. With ``discovery`` a retained Home Assistant sensor config is published on each
connect and again when Home Assistant announces itself (``online`` on ``homeassistant/status``).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from edgeml.sinks.base import SinkSpec
from edgeml.sinks.emit import EmitPolicy
from edgeml.sinks.mqtt_config import HA_STATUS, MqttTarget, discovery_config, parse_mqtt_url
from edgeml.sinks.outbox import MAX_AGE_S, MAX_EVENTS, Outbox, outbox_path

__all__ = ["HA_STATUS", "WINDOW", "MqttSink", "MqttTarget", "discovery_config", "parse_mqtt_url"]

log = logging.getLogger(__name__)

WINDOW = 32  # QoS-1 messages published and not yet acknowledged
_ACK_TTL_S = 10.0


class MqttSink:
    """Publish events with QoS 1 through a durable outbox in ``STORE/outbox`` (see the module docstring).

    Args:
        spec: The ``--output`` (a :class:`SinkSpec` or its text).
        store: The store folder; the outbox is ``STORE/outbox/<URL without password>.sqlite3``.
        policy: When events are sent.
        device: The device id (``edgeml-DEVICE`` is the MQTT client id).
        ca_file: CA certificates for ``mqtts`` (None: the system's).
        discovery: Publish the Home Assistant discovery config.
        max_events, max_age_s: The outbox's bounds.

    Raises:
        InvalidArgumentError: The URL is not valid.
        MissingDependencyError: paho-mqtt >= 2 is not installed.
        SinkError: The outbox cannot be opened.
    """

    needs_network = True

    def __init__(self, spec: SinkSpec | str, *, store: Any, policy: EmitPolicy, device: str,
                 ca_file: str | None = None, discovery: bool = True, max_events: int = MAX_EVENTS,
                 max_age_s: float = MAX_AGE_S) -> None:
        from edgeml._optional import require

        mqtt = require("paho.mqtt.client", "the MQTT sink")
        self.target = parse_mqtt_url(spec.text if isinstance(spec, SinkSpec) else spec)
        self.name = self.target.name
        self.policy = policy
        self.device = device
        self.discovery = discovery
        self.sent = 0
        self.reconnects = 0
        self.connected = False
        self._events_topic = f"{self.target.topic}/events"
        self._avail_topic = f"{self.target.topic}/availability"
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._connects = 0
        self._epoch = 0  # bumped on each connect and disconnect: what was in flight is forgotten
        self._inflight: dict[int, int] = {}  # mid -> outbox rowid
        # mids acknowledged and not yet matched to a row, with when: on loopback a PUBACK can arrive before
        # publish() has returned the mid to the drainer; an ack of a non-event message (availability,
        # discovery) never matches and is forgotten after _ACK_TTL_S, before paho could reuse its mid.
        self._acked: dict[int, float] = {}
        self.outbox = Outbox(outbox_path(store, self.name), max_events=max_events, max_age_s=max_age_s)
        try:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edgeml-{device}", clean_session=True)
            if self.target.username:
                c.username_pw_set(self.target.username, self.target.password)
            if self.target.tls:
                c.tls_set(ca_certs=ca_file)
            c.will_set(self._avail_topic, "offline", qos=1, retain=True)
            c.reconnect_delay_set(1, 30)
            c.max_inflight_messages_set(WINDOW)
            c.connect_timeout = 3.0
            c.on_connect, c.on_disconnect = self._on_connect, self._on_disconnect
            c.on_publish, c.on_message = self._on_publish, self._on_message
            c.connect_async(self.target.host, self.target.port, keepalive=30)
            self._client = c
            c.loop_start()
        except BaseException:
            self.outbox.close()
            raise
        self._drainer = threading.Thread(target=self._drain, name="edgeml-mqtt", daemon=True)
        self._drainer.start()

    def write(self, events: Sequence[dict[str, Any]]) -> None:
        """Commit ``events`` to the outbox (durable when this returns) and wake the drainer."""
        self.outbox.put_many(events)
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {"sent": self.sent, "outbox_depth": self.outbox.depth(), "outbox_dropped": self.outbox.dropped,
                "connected": self.connected, "reconnects": self.reconnects}

    def close(self, timeout: float = 5.0) -> None:
        """Publish what the outbox holds within ``timeout`` s, then ``offline``, disconnect and close the outbox.

        A broker that is away when close starts is tried again at once and waited for within the timeout, then the
        outbox is drained; what is not acknowledged by then stays in the outbox for the next run.
        """
        deadline = time.monotonic() + max(0.5, timeout)
        if not self.connected and self.outbox.depth():
            self._reconnect_now(deadline - 0.5)
        while self.connected and self.outbox.depth() and time.monotonic() < deadline - 0.5:
            time.sleep(0.02)
        self._stop = True
        self._wake.set()
        self._drainer.join(max(0.1, deadline - time.monotonic()))
        try:
            if self.connected:
                info = self._client.publish(self._avail_topic, "offline", qos=1, retain=True)
                info.wait_for_publish(max(0.1, min(1.0, deadline - time.monotonic())))
            self._client.disconnect()
        except (RuntimeError, ValueError, OSError) as exc:  # paho raises RuntimeError when the queue is gone
            log.debug("%s: offline not sent: %s", self.name, exc)
        self._client.loop_stop()
        self._settle()
        self.outbox.close()

    def _reconnect_now(self, until: float) -> None:
        """Try the broker now and every 0.2 s until connected or ``until`` (a ``time.monotonic()`` instant).

        paho's own back-off (doubling up to 30 s) would let a broker that came back a moment ago wait for the next
        run, so its thread is stopped and the attempts made here; the thread is started again only on a
        connection, so a broker that stays away leaves no thread asleep in a back-off for close to wait out.
        """
        self._client.loop_stop()  # its thread sleeps in steps of at most 1 s
        if self.connected:  # it reconnected just now: carry on as before
            self._client.loop_start()
            return
        while time.monotonic() < until:
            try:
                # a bounded TCP probe first: paho's connect would hold a host that drops packets for 3 s
                socket.create_connection((self.target.host, self.target.port),
                                         timeout=max(0.05, until - time.monotonic())).close()
                self._client.reconnect()  # TCP connected and CONNECT sent
            except (OSError, ValueError) as exc:
                log.debug("%s: broker not back yet: %s", self.name, exc)
                time.sleep(min(0.2, max(0.0, until - time.monotonic())))
                continue
            self._client.loop_start()
            while not self.connected and time.monotonic() < until:
                time.sleep(0.02)
            return

    # -- paho's network thread ---------------------------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.warning("%s: broker refused the connection: %s", self.name, reason)
            return
        with self._lock:
            self._connects += 1
            self.reconnects = self._connects - 1
            self._epoch += 1
            self._inflight.clear()
            self.connected = True
        log.info("%s: connected", self.name)
        client.publish(self._avail_topic, "online", qos=1, retain=True)
        if self.discovery:
            client.subscribe(HA_STATUS, qos=1)
            self._publish_discovery(client)
        self._wake.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            was = self.connected
            self.connected = False
            self._epoch += 1
            self._inflight.clear()
            self._acked.clear()
        if was and not self._stop:
            log.warning("%s: disconnected (%s); events wait in the outbox", self.name, reason)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:  # never held while calling paho (paho holds its own lock while calling this)
            self._acked[mid] = time.monotonic()
        self._wake.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic == HA_STATUS and message.payload == b"online":
            self._publish_discovery(client)

    def _publish_discovery(self, client: Any) -> None:
        from edgeml._version import __version__

        topic, config = discovery_config(self.device, self.target.topic, __version__)
        client.publish(topic, json.dumps(config, separators=(",", ":")), qos=1, retain=True)

    # -- the drainer thread ------------------------------------------------------------------------------------

    def _drain(self) -> None:
        epoch, cursor = -1, 0
        while not self._stop:
            self._wake.wait(0.5)
            self._wake.clear()
            try:
                self._settle()
                with self._lock:
                    connected, room = self.connected, WINDOW - len(self._inflight)
                    if self._epoch != epoch:
                        epoch, cursor = self._epoch, 0  # republish from the head: at least once
                if not connected or room <= 0:
                    continue
                for rowid, body in self.outbox.peek(room, after_rowid=cursor):
                    info = self._client.publish(self._events_topic, body, qos=1)
                    if info.rc != 0:
                        break  # not connected any more: the reconnect starts again from the head
                    with self._lock:
                        if self._epoch != epoch:
                            break
                        self._inflight[info.mid] = rowid
                    cursor = rowid
                self._settle()
            except Exception as exc:  # a full disk or a paho error must not kill the drainer
                log.warning("%s: publishing from the outbox failed: %s", self.name, exc)
                time.sleep(0.5)

    def _settle(self) -> None:
        """Delete the rows whose PUBACK has arrived. Only the drainer (or close, after it) calls this."""
        with self._lock:
            matched = [mid for mid in self._acked if mid in self._inflight]
            rows = [self._inflight.pop(mid) for mid in matched]
            old = time.monotonic() - _ACK_TTL_S
            self._acked = {m: t for m, t in self._acked.items() if m not in matched and t > old}
        if rows:
            self.outbox.delete(rows)
            self.sent += len(rows)
