"""``edgeml classify --source``: JSON lines, usage rules, clean stop on SIGINT/SIGTERM, and privacy (no socket,
no file written) checked from inside Python (audit hook) and from outside (strace, when installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
HAS_CV2 = importlib.util.find_spec("cv2") is not None
SOURCES = ["synthetic"] + ([f"video:{VTEST}"] if HAS_CV2 and VTEST.is_file() else [])


def test_json_lines_one_per_frame(fashion_int8):
    proc = run_cli("classify", "--model", str(fashion_int8), "--source", SOURCES[-1], "--json", "--max-frames", "7",
                   "--top-k", "2", check=True)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["frame"] for d in lines] == list(range(7))
    assert all({"frame", "timestamp", "results", "latency_ms"} <= set(d) and len(d["results"]) == 2 for d in lines)
    assert "7 frames" in proc.stderr and "dropped 0" in proc.stderr


def test_images_or_source_exactly_one_and_stream_flags_need_a_source(fashion_int8, tmp_path):
    model = str(fashion_int8)
    assert run_cli("classify", "--model", model).returncode == 2
    both = run_cli("classify", "--model", model, "--source", "synthetic", "x.png")
    assert both.returncode == 2 and "exactly one" in both.stderr
    loop = run_cli("classify", "--model", model, "--loop", "x.png")
    assert loop.returncode == 2 and "--loop applies to --source" in loop.stderr
    bad = run_cli("classify", "--model", model, "--source", "rtsp://cam")
    assert bad.returncode == 1 and "Valid sources" in bad.stderr and "Traceback" not in bad.stderr


def test_corrupt_image_in_a_folder_is_a_json_error_line_and_exit_1(fashion, fashion_int8, tmp_path):
    for src in sorted(fashion.test_dir.glob("*/*.png"))[:3]:
        shutil.copy(src, tmp_path / src.name)
    (tmp_path / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    proc = run_cli("classify", "--model", str(fashion_int8), "--source", f"images:{tmp_path}", "--json")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and len(lines) == 4
    assert "zz_broken.png" in lines[-1]["error"] and lines[-1]["results"] == []
    assert "errors 1" in proc.stderr


def test_preview_without_a_display_says_so_and_goes_on(fashion_int8):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = run_cli("classify", "--model", str(fashion_int8), "--source", "synthetic", "--max-frames", "3",
                   "--preview", env=env)
    assert proc.returncode == 0 and "needs a display" in proc.stderr
    assert proc.stdout.count("frame ") == 3


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_an_endless_stream_cleanly(fashion_int8, sig):
    proc = subprocess.Popen([sys.executable, "-m", "edgeml", "classify", "--model", str(fashion_int8), "--source",
                             "synthetic", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and json.loads(proc.stdout.readline())["frame"] == 0
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert f"stopped by {sig.name}" in err and "frames in" in err and "Traceback" not in err


_AUDIT = r"""
import json, os, sys
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
seen = []
def hook(event, args):
    if event.startswith("socket."):
        seen.append([event, repr(args)[:120]])
    elif event == "open":
        path, mode, flags = args
        if isinstance(path, int):  # wraps a descriptor opened earlier (stdout, a memfd); creating one is audited
            return
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & WRITE_FLAGS)
        if writes:
            seen.append([event, repr(args)[:120]])
    elif event in ("os.rename", "os.remove", "os.mkdir", "os.truncate", "shutil.copyfile", "os.link"):
        seen.append([event, repr(args)[:120]])
sys.addaudithook(hook)
from edgeml.cli import main
rc = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write("AUDIT " + json.dumps(seen) + "\n")
sys.exit(rc)
"""


@pytest.mark.parametrize("source", SOURCES)
def test_privacy_no_socket_and_no_file_written_audit_hook(fashion_int8, source):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", _AUDIT, "classify", "--model", str(fashion_int8), "--source", source,
                           "--json", "--max-frames", "40"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 40
    audit = json.loads(proc.stderr.split("AUDIT ", 1)[1])
    assert audit == []


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
@pytest.mark.parametrize("source", SOURCES)
def test_privacy_no_socket_and_no_file_written_strace(fashion_int8, source, tmp_path):
    """Native code too (OpenCV, the interpreter): every socket/open/rename/unlink syscall of the whole process."""
    log = tmp_path / "strace.txt"
    calls = "socket,connect,bind,sendto,sendmsg,openat,open,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir," \
            "mkdirat,truncate,ftruncate"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(["strace", "-f", "-qq", "-e", f"trace={calls}", "-e", "signal=none", "-o", str(log),
                           sys.executable, "-m", "edgeml", "classify", "--model", str(fashion_int8), "--source", source,
                           "--json", "--max-frames", "40"], capture_output=True, text=True, timeout=180, env=env)
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip(f"strace cannot trace here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 40
    offending = []
    for line in log.read_text().splitlines():
        if "ENOENT" in line or "= -1" in line:
            continue  # failed calls created nothing
        network_or_fs = re.search(r"\b(socket|connect|bind|send\w*|rename\w*|unlink\w*|mkdir\w*|truncate)\(", line)
        opened_for_writing = (re.search(r"\bopen(at)?\(|creat\(", line)
                              and re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND", line)
                              and not re.search(r'"/dev/(null|tty|pts/\d+|shm/[^"]*)"', line))
        if network_or_fs or opened_for_writing:
            offending.append(line)
    assert offending == []


def test_stream_tells_systemd_ready_and_pings_the_watchdog(fashion_int8, tmp_path):
    """Under the kiosk unit (Type=notify, WatchdogSec) the loop sends READY=1, then WATCHDOG=1 while it runs."""
    import socket

    path = str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000"}  # ping at most every 1 ms
    try:
        proc = run_cli("classify", "--model", str(fashion_int8), "--source", "synthetic", "--max-frames", "5",
                       "--json", env=env)
        received = []
        server.setblocking(False)
        while True:
            try:
                received.append(server.recv(256).decode())
            except BlockingIOError:
                break
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    assert received[0] == "READY=1"
    assert "WATCHDOG=1" in received[1:]
