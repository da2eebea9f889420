"""The MQTT sink's configuration, pure: URLs (percent-decoded credentials, default ports, the password never
shown) and the Home Assistant discovery payload."""

from __future__ import annotations

import pytest

from edgeml.errors import InvalidArgumentError
from edgeml.sinks.mqtt_config import discovery_config, parse_mqtt_url


@pytest.mark.parametrize(("url", "host", "port", "topic", "user", "password", "name"), [
    ("mqtt://broker/edgeml/k1", "broker", 1883, "edgeml/k1", None, None, "mqtt://broker:1883/edgeml/k1"),
    ("mqtts://broker/k", "broker", 8883, "k", None, None, "mqtts://broker:8883/k"),
    ("mqtt://u%40x:p%3Aw%2F@10.0.0.2:1884/a/b", "10.0.0.2", 1884, "a/b", "u@x", "p:w/", "mqtt://u@x@10.0.0.2:1884/a/b"),
    ("mqtt://[::1]:1883/t", "::1", 1883, "t", None, None, "mqtt://[::1]:1883/t"),
])
def test_mqtt_urls_parse_with_percent_decoded_credentials(url, host, port, topic, user, password, name):
    t = parse_mqtt_url(url)
    assert (t.host, t.port, t.topic, t.username, t.password, t.name) == (host, port, topic, user, password, name)
    assert t.tls == url.startswith("mqtts") and "p:w" not in repr(t)


@pytest.mark.parametrize("url", ["mqtt://broker", "mqtt://broker/", "mqtt:///topic", "http://broker/t",
                                 "mqtt://broker/a/#", "mqtt://broker/a//b", "mqtt://broker:99999/t",
                                 "mqtt://u:hunter2@broker/t?x=1"])
def test_bad_mqtt_urls_name_the_valid_form_and_hide_the_password(url):
    with pytest.raises(InvalidArgumentError, match=r"mqtt://\[USER\[:PASSWORD\]@\]HOST\[:PORT\]/TOPIC") as e:
        parse_mqtt_url(url)
    assert "hunter2" not in str(e.value)


def test_discovery_config_points_home_assistant_at_the_events():
    topic, config = discovery_config("kiosk 1", "edgeml/k1", "0.1.0")
    assert topic == "homeassistant/sensor/edgeml_kiosk_1/label/config"
    assert config["state_topic"] == config["json_attributes_topic"] == "edgeml/k1/events"
    assert config["availability_topic"] == "edgeml/k1/availability"
    assert config["unique_id"] == "edgeml_kiosk_1_label" and config["device"]["identifiers"] == ["edgeml_kiosk_1"]
    assert "value_json.labels[0].label" in config["value_template"]
