"""``systemd-analyze verify`` accepts every kiosk unit ``edgeml service install`` writes, without one warning about
it, and the command in its ExecStart is one ``edgeml classify`` really accepts.

``verify`` exits 0 even for an unknown key or a value it cannot parse (it logs "ignoring" and goes on), so the
tests also require that no stderr line names the unit file. The known harmless lines are listed in ``_HARMLESS``;
today there are none for the units as written (``User=nobody`` would add "Special user nobody configured, this is
not safe!", which is why the tests run the unit as an ordinary existing user instead).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeml.service import ServiceSpec, render_unit
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="needs systemd-analyze (apt install systemd)")

_HARMLESS: tuple[str, ...] = ()  # substrings of stderr lines about the unit that are expected (none today)


def _user() -> str:
    """An existing login that is neither root (refused) nor nobody (systemd warns about it)."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    for name in (me, "daemon", "bin"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        if name != "root":
            return name
    pytest.skip("no existing non-root user to run the unit as")


def _verify(unit: str, folder: Path, name: str = "edgeml-kiosk") -> None:
    path = folder / f"{name}.service"
    path.write_text(unit)
    proc = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    about_unit = [line for line in proc.stderr.splitlines()
                  if str(path) in line and not any(h in line for h in _HARMLESS)]
    assert not about_unit, "\n".join(about_unit)


@pytest.fixture()
def model(tmp_path) -> str:
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\0\0\0\0TFL3")
    return str(path)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_no_network_unit_verifies(tmp_path, model, device):
    unit = render_unit(ServiceSpec(model=model, source="picamera2", user=_user(), device=device))
    assert "IPAddressDeny=any" in unit and "AF_INET" not in unit
    _verify(unit, tmp_path)


@pytest.mark.parametrize("output", ["mqtt://192.0.2.10:1883/edgeml/kiosk1", "mqtts://[2001:db8::7]/edgeml",
                                    "mqtts://meter:s3cr%et@localhost:8883/edgeml/kiosk1"])
def test_mqtt_unit_verifies(tmp_path, model, output):
    (tmp_path / "resolv.conf").write_text("nameserver 192.0.2.53\nnameserver 127.0.0.53\n")
    spec = ServiceSpec(model=model, source="usb:0", user=_user(), outputs=(output, "-"), emit="change",
                       heartbeat_s=30, mqtt_ca="/etc/ssl/certs/ca-certificates.crt" if "mqtts" in output else None)
    unit = render_unit(spec, etc=tmp_path)
    assert "IPAddressAllow=" in unit and "AF_INET6" in unit
    _verify(unit, tmp_path)


def test_store_model_unit_verifies(tmp_path):
    _verify(render_unit(ServiceSpec(model="store:fashion", source="camera", user=_user())), tmp_path)
    spec = ServiceSpec(model="store:fashion", source="camera", user=_user(), store=str(tmp_path / "store"),
                       outputs=(f"jsonl:{tmp_path}/results/r.jsonl",))
    unit = render_unit(spec)
    assert f"ReadWritePaths={tmp_path}/store {tmp_path}/results" in unit
    _verify(unit, tmp_path, "store-kiosk")


def test_jsonl_unit_with_awkward_source_verifies(tmp_path, model):
    """An output under /tmp turns PrivateTmp off. The path is spelt out, not tmp_path: TMPDIR (set by nox, for one)
    can put tmp_path outside /tmp. Rendering writes nothing there."""
    spec = ServiceSpec(model=model, source="video:/srv/my clips/100%.mp4", user=_user(),
                       outputs=("/var/log/edgeml/results.jsonl", "jsonl:/tmp/edgeml-kiosk/r.jsonl"), emit="interval:5")
    unit = render_unit(spec)
    assert "ReadWritePaths=/var/log/edgeml " in unit and "PrivateTmp=no" in unit
    _verify(unit, tmp_path)


def test_a_misspelt_directive_is_caught(tmp_path, model):
    """The check above is not vacuous: verify's 'ignoring' lines name the unit file."""
    unit = render_unit(ServiceSpec(model=model, source="usb:0", user=_user()))
    path = tmp_path / "broken.service"
    path.write_text(unit.replace("LockPersonality=yes", "LockPersonalty=yes"))
    proc = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and f"{path}:" in proc.stderr and "LockPersonalty" in proc.stderr


def test_cli_print_with_a_real_model_verifies_and_its_command_runs(fashion_int8, fashion, tmp_path):
    """``service install --print`` end to end; then the unit's own ExecStart, run here for 5 frames, writes events."""
    results = tmp_path / "results"
    results.mkdir()
    images = sorted(fashion.test_dir.glob("*/*.png"))[0].parent
    printed = run_cli("service", "install", "--model", str(fashion_int8), "--source", f"images:{images}",
                      "--user", _user(), "--output", f"jsonl:{results}/r.jsonl", "--emit", "every",
                      "--heartbeat", "0", "--print", check=True).stdout
    assert f"ReadWritePaths={results}\n" in printed and "RestrictAddressFamilies=AF_UNIX AF_NETLINK\n" in printed
    _verify(printed, tmp_path)
    exec_start = next(line for line in printed.splitlines() if line.startswith("ExecStart="))
    cmd = shlex.split(exec_start.removeprefix("ExecStart="))  # no % $ or quotes here: shell and systemd agree
    assert cmd[0] == sys.executable
    proc = subprocess.run([*cmd, "--max-frames", "5"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "EDGEML_STORE": str(tmp_path / "store")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 5  # the per-frame lines the unit sends to StandardOutput=null
    assert len((results / "r.jsonl").read_text().splitlines()) >= 5


def test_cli_refusals_and_secret_unit(fashion_int8, tmp_path):
    missing = run_cli("service", "install", "--model", str(fashion_int8), "--source", "usb:0", "--user", _user(),
                      "--output", f"{tmp_path}/nowhere/r.jsonl", "--print")
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "install -d -o" in missing.stderr
    unknown = run_cli("service", "install", "--model", str(fashion_int8), "--source", "usb:0", "--user", _user(),
                      "--output", "mqtt://broker.invalid/edgeml", "--print")
    assert unknown.returncode == 1 and "does not resolve" in unknown.stderr
    run_cli("service", "install", "--model", str(fashion_int8), "--source", "usb:0", "--user", _user(),
            "--output", "mqtt://meter:pw@127.0.0.1/edgeml", "--unit-dir", str(tmp_path), check=True)
    assert (tmp_path / "edgeml-kiosk.service").stat().st_mode & 0o777 == 0o600
