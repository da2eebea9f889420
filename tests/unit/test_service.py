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


def _unit(tmp_path, **kw) -> str:
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\0\0\0\0TFL3")
    spec = ServiceSpec(**{"model": str(model), "source": "picamera2", "user": "pi", **kw})
    return render_unit(spec)


def _directives(unit: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))


def test_unit_has_restart_watchdog_notify_non_root_journal(tmp_path):
    d = _directives(_unit(tmp_path))
    assert d["Type"] == "notify" and d["Restart"] == "always" and d["WatchdogSec"] == "30"
    assert d["User"] == "pi" and d["StandardOutput"] == "journal" and d["StandardError"] == "journal"
    assert d["ExecStart"].endswith(f"-m edgeml classify --model {tmp_path}/model.tflite --source picamera2 --json")
    assert d["ExecStart"].startswith(sys.executable)
    assert d["WantedBy"] == "multi-user.target"


def test_results_file_is_appended_and_writable_under_protection(tmp_path):
    d = _directives(_unit(tmp_path, output="/var/lib/edgeml/results.jsonl"))
    assert d["StandardOutput"] == "append:/var/lib/edgeml/results.jsonl"
    assert d["ReadWritePaths"] == "/var/lib/edgeml" and d["ProtectSystem"] == "full"


def test_exec_arguments_are_quoted_for_systemd(tmp_path):
    d = _directives(_unit(tmp_path, source="video:/srv/my clips/100%.mp4"))
    assert '"video:/srv/my clips/100%%.mp4"' in d["ExecStart"]


@pytest.mark.parametrize(("kw", "match"), [
    ({"user": "root"}, "must not run as root"),
    ({"model": "model.tflite"}, "absolute path"),
    ({"output": "out.jsonl"}, "--output must be an absolute path"),
    ({"watchdog_s": 1}, "watchdog must be >= 5"),
])
def test_refusals_name_the_fix(tmp_path, kw, match):
    with pytest.raises(ServiceConfigError, match=match):
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
