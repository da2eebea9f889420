"""What an MQTT sink is configured with, as pure functions: the ``mqtt://`` URL and Home Assistant's discovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from edgeml.errors import InvalidArgumentError

__all__ = ["HA_STATUS", "MqttTarget", "discovery_config", "parse_mqtt_url"]

HA_STATUS = "homeassistant/status"
_FORM = "mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC or mqtts://... (e.g. mqtt://127.0.0.1:1883/edgeml/kiosk1)"


@dataclass(frozen=True)
class MqttTarget:
    """One parsed MQTT URL. ``name`` is the URL without the password (safe to log)."""

    scheme: str
    host: str
    port: int
    topic: str
    username: str | None = None
    password: str | None = None  # never in repr or name

    @property
    def tls(self) -> bool:
        return self.scheme == "mqtts"

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{host}:{self.port}/{self.topic}"

    def __repr__(self) -> str:
        return f"MqttTarget({self.name!r})"


def parse_mqtt_url(text: str) -> MqttTarget:
    """Parse ``mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC`` (port 1883; ``mqtts``: 8883, TLS).

    USER and PASSWORD are percent-decoded (``%40`` for ``@``). TOPIC is a publish topic: no ``+``, ``#``, empty
    level or trailing ``/``.

    Raises:
        InvalidArgumentError: Not of that form; the message names the valid form (never the password).
    """
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as exc:
        raise InvalidArgumentError(f"--output must be {_FORM}. Received an URL that does not parse: "
                                   f"{_redact(text)!r} ({exc})") from None
    topic = url.path[1:] if url.path.startswith("/") else url.path
    problem = None
    if url.scheme not in ("mqtt", "mqtts"):
        problem = f"scheme {url.scheme!r} is not mqtt or mqtts"
    elif not url.hostname:
        problem = "no HOST"
    elif not topic or "+" in topic or "#" in topic or "" in topic.split("/"):
        problem = f"TOPIC {topic!r} must be a topic without wildcards (+ #) or empty levels"
    elif url.query or url.fragment:
        problem = "no ?query or #fragment is allowed"
    if problem:
        raise InvalidArgumentError(f"--output must be {_FORM}. Received: {_redact(text)!r}: {problem}")
    return MqttTarget(url.scheme, str(url.hostname), port or (8883 if url.scheme == "mqtts" else 1883), topic,
                      unquote(url.username) if url.username else None,
                      unquote(url.password) if url.password is not None else None)


def _redact(text: str) -> str:
    head, at, tail = text.rpartition("@")
    if not at or "://" not in head:
        return text
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.partition(':')[0]}{':***' if ':' in user else ''}@{tail}"


def discovery_config(device: str, topic: str, version: str = "") -> tuple[str, dict[str, Any]]:
    """Return the Home Assistant discovery topic and config of the device's "label" sensor (retained by caller).

    The sensor's state is the top label of each event on ``TOPIC/events`` (``none`` for an event without labels);
    its attributes are the whole event; it is unavailable while ``TOPIC/availability`` is ``offline``.
    """
    node = "".join(c if c.isalnum() or c in "_-" else "_" for c in device)
    config = {
        "name": "Label",
        "unique_id": f"edgeml_{node}_label",
        "state_topic": f"{topic}/events",
        "value_template": "{{ value_json.labels[0].label if value_json.labels is defined and value_json.labels "
                          "else 'none' }}",
        "json_attributes_topic": f"{topic}/events",
        "availability_topic": f"{topic}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
        "icon": "mdi:image-search",
        "device": {"identifiers": [f"edgeml_{node}"], "name": f"edgeml {device}", "manufacturer": "edgeml",
                   "model": "image classifier", "sw_version": version},
    }
    return f"homeassistant/sensor/edgeml_{node}/label/config", config
