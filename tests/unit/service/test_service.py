"""Kiosk unit: the text systemd gets, refusals with the fix, and sd_notify over a real AF_UNIX datagram socket."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from edgeml.errors import ServiceConfigError
from edgeml.service import ServiceSpec, Watchdog, render_unit, sd_notify
from tests.conftest import run_cli


def _unit(tmp_path, etc=None, **kw) -> str:
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\0\0\0\0TFL3")
    spec = ServiceSpec(**{"model": str(model), "source": "picamera2", "user": "pi", **kw})
    return render_unit(spec) if etc is None else render_unit(spec, etc=etc)


def _directives(unit: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))


def test_unit_has_restart_watchdog_notify_non_root_journal(tmp_path):
    d = _directives(_unit(tmp_path))
    assert d["Type"] == "notify" and d["Restart"] == "always" and d["WatchdogSec"] == "30"
    assert d["User"] == "pi" and d["StandardOutput"] == "journal" and d["StandardError"] == "journal"
    assert d["ExecStart"].endswith(f"-m edgeml classify --model {tmp_path}/model.tflite --source picamera2 --json")
    assert d["ExecStart"].startswith(sys.executable)
    assert d["WantedBy"] == "multi-user.target"


def test_no_output_keeps_json_lines_in_the_journal_and_no_network(tmp_path):
    d = _directives(_unit(tmp_path))
    assert "--json" in d["ExecStart"] and "--output" not in d["ExecStart"] and d["StandardOutput"] == "journal"
    assert d["IPAddressDeny"] == "any" and "IPAddressAllow" not in d
    assert d["RestrictAddressFamilies"] == "AF_UNIX AF_NETLINK"  # no AF_INET*: no IP socket can be opened
    assert "PrivateNetwork" not in d  # the default device may be a Coral USB: udev events must reach libusb


@pytest.mark.parametrize("device", ["cpu", "pci", "pci:0"])
def test_no_usb_edge_tpu_gets_a_private_network(tmp_path, device):
    d = _directives(_unit(tmp_path, device=device))
    assert d["PrivateNetwork"] == "yes" and d["IPAddressDeny"] == "any"
    assert d["RestrictAddressFamilies"] == "AF_UNIX AF_NETLINK"


@pytest.mark.parametrize("device", ["usb", "usb:0", "auto"])
def test_a_usb_edge_tpu_keeps_the_host_network_namespace_but_no_ip(tmp_path, device):
    d = _directives(_unit(tmp_path, device=device))
    assert "PrivateNetwork" not in d and d["RestrictAddressFamilies"] == "AF_UNIX AF_NETLINK"


def test_hardening_is_strict_but_leaves_devices_alone(tmp_path):
    d = _directives(_unit(tmp_path))
    assert d["ProtectSystem"] == "strict" and d["ProtectHome"] == "read-only" and d["NoNewPrivileges"] == "yes"
    for key in ("ProtectKernelTunables", "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality"):
        assert d[key] == "yes", key
    for key in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock", "MemoryDenyWriteExecute"):
        assert key not in d, key
    assert d["StateDirectory"] == "edgeml" and "ReadWritePaths" not in d  # the store is the only writable place


def test_mqtt_with_an_ip_allows_only_the_broker(tmp_path):
    d = _directives(_unit(tmp_path, outputs=("mqtt://192.0.2.10:1883/edgeml/k1",), etc=tmp_path))
    assert d["IPAddressDeny"] == "any" and d["IPAddressAllow"] == "192.0.2.10"  # no resolver: nothing to resolve
    assert d["RestrictAddressFamilies"] == "AF_UNIX AF_NETLINK AF_INET AF_INET6" and "PrivateNetwork" not in d
    assert d["ExecStart"].endswith("--source picamera2 --output mqtt://192.0.2.10:1883/edgeml/k1")
    assert d["StandardOutput"] == "null" and "--json" not in d["ExecStart"]
    assert "network-online.target" in d["After"]


def test_mqtt_with_an_ipv6_literal(tmp_path):
    d = _directives(_unit(tmp_path, outputs=("mqtts://[2001:db8::7]/edgeml",), etc=tmp_path))
    assert d["IPAddressAllow"] == "2001:db8::7"


def test_mqtt_with_a_name_allows_its_addresses_and_the_resolvers(tmp_path):
    (tmp_path / "resolv.conf").write_text("# from DHCP\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nsearch lan\n")
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n")
    d = _directives(_unit(tmp_path, outputs=("mqtt://localhost/edgeml",), etc=tmp_path))
    # localhost is in hosts: resolved by files, no DNS needed, only the broker's loopback address
    allow = d["IPAddressAllow"].split()
    assert "127.0.0.1" in allow and "192.0.2.53" not in allow
    (tmp_path / "hosts").write_text("")  # the same name, now resolved by DNS at run time: the resolvers too
    allow = _directives(_unit(tmp_path, outputs=("mqtt://localhost/edgeml",), etc=tmp_path))["IPAddressAllow"]
    # localhost's own addresses first (127.0.0.1, and ::1 where /etc/hosts lists it, as Debian's and Pi OS's do)
    *broker, dns1, dns2 = allow.split()
    assert "127.0.0.1" in broker and set(broker) <= {"127.0.0.1", "::1"} and [dns1, dns2] == ["192.0.2.53", "fe80::1"]


def test_a_broker_that_does_not_resolve_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ServiceConfigError, match=r"'broker\.invalid' does not resolve.*/etc/hosts.*IP address"):
        _unit(tmp_path, outputs=("mqtt://broker.invalid/edgeml",), etc=tmp_path)


def test_the_password_never_appears_in_the_description(tmp_path):
    unit = _unit(tmp_path, outputs=("mqtts://meter:s3cr%et@192.0.2.10:8883/edgeml/k1",), etc=tmp_path)
    d = _directives(unit)
    assert "s3cr" not in d["Description"] and "meter" not in d["Description"]
    assert d["Description"].endswith("to mqtts://192.0.2.10:8883/edgeml/k1")
    assert "mqtts://meter:s3cr%%et@192.0.2.10:8883/edgeml/k1" in d["ExecStart"]  # classify needs it, % escaped
    model = tmp_path / "model.tflite"
    assert ServiceSpec(model=str(model), source="usb:0", user="pi", outputs=("mqtt://u:p@192.0.2.1/t",)).has_password
    assert not ServiceSpec(model=str(model), source="usb:0", user="pi", outputs=("mqtt://u@192.0.2.1/t",)).has_password


def test_jsonl_folder_is_the_only_writable_path_besides_the_store(tmp_path):
    d = _directives(_unit(tmp_path, outputs=("jsonl:/srv/results/kiosk.jsonl",)))
    assert d["ReadWritePaths"] == "/srv/results" and d["ProtectSystem"] == "strict"
    assert d["ExecStart"].endswith("--output jsonl:/srv/results/kiosk.jsonl") and d["StandardOutput"] == "null"
    assert d["IPAddressDeny"] == "any" and d["PrivateTmp"] == "yes"
    d = _directives(_unit(tmp_path, outputs=("jsonl:/srv/results/kiosk.jsonl",), store="/srv/store"))
    assert d["ReadWritePaths"] == "/srv/store /srv/results" and "StateDirectory" not in d
    d = _directives(_unit(tmp_path, outputs=("jsonl:/var/lib/edgeml/results.jsonl",)))
    assert "ReadWritePaths" not in d  # inside the StateDirectory already


def test_a_bare_absolute_path_means_jsonl(tmp_path):
    """The old ``--output FILE`` goes on working, as a jsonl: sink written by the service user."""
    d = _directives(_unit(tmp_path, outputs=("/srv/results/kiosk.jsonl",)))
    assert "--output jsonl:/srv/results/kiosk.jsonl" in d["ExecStart"] and d["StandardOutput"] == "null"
    assert d["ReadWritePaths"] == "/srv/results"


def test_results_under_tmp_need_the_shared_tmp(tmp_path):
    assert _directives(_unit(tmp_path, outputs=("jsonl:/tmp/kiosk/r.jsonl",)))["PrivateTmp"] == "no"


def test_stdout_sink_keeps_events_in_the_journal_without_json(tmp_path):
    d = _directives(_unit(tmp_path, outputs=("-", "jsonl:/srv/r.jsonl")))
    assert d["StandardOutput"] == "journal" and "--json" not in d["ExecStart"]
    assert d["ExecStart"].endswith("--output - --output jsonl:/srv/r.jsonl")


def test_emit_heartbeat_and_ca_pass_through(tmp_path):
    d = _directives(_unit(tmp_path, outputs=("mqtts://192.0.2.10/edgeml",), emit="interval:5", heartbeat_s=30.0,
                          mqtt_ca="/etc/edgeml/ca.pem", etc=tmp_path))
    assert d["ExecStart"].endswith("--output mqtts://192.0.2.10/edgeml --emit interval:5 --heartbeat 30 "
                                   "--mqtt-ca /etc/edgeml/ca.pem")


def test_exec_arguments_are_quoted_for_systemd(tmp_path):
    d = _directives(_unit(tmp_path, source="video:/srv/my clips/100%.mp4"))
    assert '"video:/srv/my clips/100%%.mp4"' in d["ExecStart"]


@pytest.mark.parametrize(("kw", "match"), [
    ({"user": "root"}, "must not run as root"),
    ({"model": "model.tflite"}, "absolute path"),
    ({"outputs": ("out.jsonl",)}, "jsonl:PATH must be an absolute path"),
    ({"outputs": ("jsonl:results/out.jsonl",)}, "jsonl:PATH must be an absolute path"),
    ({"outputs": ("jsonl:/srv/my results/out.jsonl",)}, "must not contain spaces"),
    ({"outputs": ("mqtt:broker/topic",)}, "needs //HOST/TOPIC"),
    ({"outputs": ("mqtt://broker:99999/t",)}, "bad port"),
    ({"outputs": ("mqtt:///topic",)}, "needs a broker host"),
    ({"outputs": ("jsonl:/a.jsonl", "/a.jsonl")}, "given twice"),
    ({"emit": "change"}, "apply to --output sinks"),
    ({"outputs": ("-",), "emit": "sometimes"}, "every, change"),
    ({"outputs": ("-",), "heartbeat_s": -1.0}, "--heartbeat must be >= 0"),
    ({"outputs": ("mqtt://192.0.2.1/t",), "mqtt_ca": "/ca.pem"}, "--mqtt-ca applies to mqtts://"),
    ({"outputs": ("mqtts://192.0.2.1/t",), "mqtt_ca": "ca.pem"}, "--mqtt-ca must be an absolute path"),
    ({"watchdog_s": 1}, "watchdog must be >= 5"),
])
def test_refusals_name_the_fix(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):  # ServiceConfigError, or InvalidArgumentError for the syntax
        ServiceSpec(**{"model": "/m.tflite", "source": "usb:0", "user": "pi", **kw})


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt install systemd)")
def test_systemd_analyze_verify_accepts_the_unit_and_rejects_a_broken_one(tmp_path):
    unit = _unit(tmp_path, user="nobody")
    good = tmp_path / "edgeml-kiosk.service"
    good.write_text(unit)
    proc = subprocess.run(["systemd-analyze", "verify", str(good)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    bad = tmp_path / "broken.service"
    bad.write_text(unit.replace(f"ExecStart={sys.executable}", "ExecStart=/nonexistent/python"))
    assert subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True).returncode != 0


def test_cli_print_and_write(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0\0\0\0TFL3")
    printed = run_cli("service", "install", "--model", str(model), "--source", "usb:0", "--user", "kiosk",
                      "--print", check=True).stdout
    assert "User=kiosk" in printed and "--source usb:0 --json" in printed
    proc = run_cli("service", "install", "--model", str(model), "--source", "usb:0", "--user", "kiosk",
                   "--unit-dir", str(tmp_path), "--name", "cam1", check=True)
    assert (tmp_path / "cam1.service").read_text() == printed.replace("edgeml-kiosk", "cam1")
    assert "systemctl enable --now cam1.service" in proc.stderr
    missing = run_cli("service", "install", "--model", str(tmp_path / "no.tflite"), "--source", "usb:0", "--print")
    assert missing.returncode == 1 and "Model file not found" in missing.stderr


@pytest.fixture()
def notify_socket(tmp_path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    server.bind(str(path))
    server.settimeout(2)
    yield str(path), server
    server.close()


def test_sd_notify_sends_one_datagram(notify_socket):
    path, server = notify_socket
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": path}) is True
    assert server.recv(100) == b"READY=1"
    assert sd_notify("READY=1", {}) is False


def test_sd_notify_abstract_namespace():
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"edgeml-test-{id(server)}"
    server.bind("\0" + name)
    server.settimeout(2)
    try:
        assert sd_notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert server.recv(100) == b"WATCHDOG=1"
    finally:
        server.close()


def test_watchdog_pings_at_half_the_interval(notify_socket):
    path, server = notify_socket
    dog = Watchdog.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"})
    assert dog.interval_s == 15.0
    assert dog.ready() and server.recv(100) == b"READY=1"
    assert dog.ping() is True and server.recv(100) == b"WATCHDOG=1"
    assert dog.ping() is False  # rate-limited: the next one is due in 15 s
    assert Watchdog.from_env({"NOTIFY_SOCKET": path}).ping() is False  # no WatchdogSec: nothing to ping
    assert Watchdog.from_env({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).interval_s is None  # not for us
