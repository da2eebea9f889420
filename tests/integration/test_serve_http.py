"""``edgeml serve`` as a real process on a free port, streaming real Fashion-MNIST images in the background:
probes, metrics, live server-sent events, TF Serving predict over HTTP, a stuck event client that must not slow
the stream, and SIGTERM ending it cleanly with exit 0."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx", reason="the HTTP tests use httpx as the client")
pytest.importorskip("starlette", reason="edgeml serve needs starlette: pip install 'edgeml[serve]'")
pytest.importorskip("uvicorn", reason="edgeml serve needs uvicorn: pip install 'edgeml[serve]'")
pytest.importorskip("prometheus_client", reason="edgeml serve needs prometheus-client: pip install 'edgeml[serve]'")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

# Until `serve` is listed in edgeml.cli.COMMANDS, run the real `main` with it appended (same parser, same errors).
_MAIN = ("import sys, edgeml.cli as cli\n"
         "cli.COMMANDS = cli.COMMANDS if 'serve' in cli.COMMANDS else (*cli.COMMANDS, 'serve')\n"
         "sys.exit(cli.main(sys.argv[1:]))")


def edgeml_command() -> list[str]:
    from edgeml.cli import COMMANDS

    return [sys.executable, "-m", "edgeml"] if "serve" in COMMANDS else [sys.executable, "-c", _MAIN]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``edgeml serve ARGS --port P`` in a subprocess, ready once /healthz answers (stderr kept in a file)."""

    def __init__(self, tmp: Path, *args: str, token: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.log = tmp / f"serve-{self.port}.log"
        with open(self.log, "wb") as err:
            extra = ["--token", token] if token else []
            self.proc = subprocess.Popen([*edgeml_command(), "serve", *args, *extra, "--port", str(self.port)],
                                         stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"edgeml serve exited {self.proc.returncode}: {self.stderr}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"edgeml serve did not answer /healthz within 30 s: {self.stderr}")

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, **kwargs):
        return httpx.get(f"{self.url}{path}", headers=self.headers, timeout=10, **kwargs)

    def frames(self) -> float:
        for family in text_string_to_metric_families(self.get("/metrics").text):
            if family.name == "edgeml_frames":
                return family.samples[0].value
        raise AssertionError("no edgeml_frames_total in /metrics")

    def rate(self, seconds: float) -> float:
        first, start = self.frames(), time.monotonic()
        time.sleep(seconds)
        return (self.frames() - first) / (time.monotonic() - start)

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, f"/readyz never 200: {self.get('/readyz').text}"
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"edgeml serve ignored {signal.Signals(sig).name} for {timeout} s") from None
        return self.proc.returncode


def stuck_event_client(port: int, token: str | None = None) -> socket.socket:
    """Open GET /events and never read a byte (a tiny receive buffer, so the server's sends back up soon)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect(("127.0.0.1", port))
    query = f"?token={token}" if token else ""
    s.sendall(f"GET /events{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
    return s


def read_events(url: str, count: int, headers: dict[str, str] | None = None, timeout: float = 15.0) -> list[dict]:
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", f"{url}/events", headers=headers or {}, timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            if len(events) >= count or time.monotonic() > deadline:
                break
    return events


@pytest.fixture(scope="module")
def two_classes(fashion, tmp_path_factory):
    """An images: folder of 20 real Fashion-MNIST test images of Trouser, then 20 of Sneaker (sorted names)."""
    folder = tmp_path_factory.mktemp("serve_images")
    first = sorted(fashion.test_dir.glob("1_*/*.png"))[:20]
    second = sorted(fashion.test_dir.glob("7_*/*.png"))[:20]
    for i, path in enumerate(first + second):
        (folder / f"{i:03d}.png").symlink_to(path)
    return folder


@pytest.fixture(scope="module")
def server(fashion_int8, two_classes, tmp_path_factory):
    # Paced at 100 results/s, so a slowdown shows as a lower rate even on a busy 2-core machine.
    proc = ServeProcess(tmp_path_factory.mktemp("serve"), "--model", str(fashion_int8), "--name", "fashion",
                        "--source", f"images:{two_classes}", "--loop", "--fps", "100")
    yield proc
    proc.stop()


def test_probes_say_alive_then_ready_once_results_flow(server):
    r = server.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "alive"}
    server.wait_ready()
    assert "latest stream result" in server.get("/readyz").json()["reason"]


def test_metrics_frames_counter_increases_and_the_families_are_there(server):
    server.wait_ready()
    first = server.frames()
    time.sleep(0.5)
    assert server.frames() > first
    families = {f.name: f for f in text_string_to_metric_families(server.get("/metrics").text)}
    for name in ("edgeml_results", "edgeml_stage_seconds", "edgeml_latency_seconds", "edgeml_fps",
                 "edgeml_dispatch_dropped", "edgeml_model_info", "edgeml_sse_clients"):
        assert name in families, name
    (info,) = families["edgeml_model_info"].samples
    assert info.labels["version"] == "0" and info.labels["name"]


def test_events_deliver_schema_1_events_with_real_labels(server):
    server.wait_ready()
    events = read_events(server.url, 5)
    assert len(events) >= 3
    assert {e["schema"] for e in events} == {1}
    assert {e["type"] for e in events} <= {"result", "heartbeat", "change"}  # change: what the kiosk's label shows
    labels = {e["labels"][0]["label"] for e in events if e["labels"]}
    assert labels & {"Trouser", "Sneaker"}, labels
    assert all(e["model"]["name"] == "fashion_cnn_int8" and e["frame"] >= 0 for e in events)
    beats = [e for e in events if e["type"] == "heartbeat"]
    assert beats and all(b["stats"]["fps"] >= 0 and "frames" in b["stats"] for b in beats)


def test_predict_and_classify_over_http(server, fashion):
    png = sorted(fashion.test_dir.glob("1_*/*.png"))[50]
    body = {"instances": [{"b64": base64.b64encode(png.read_bytes()).decode()}]}
    r = httpx.post(f"{server.url}/v1/models/fashion:predict", json=body, timeout=10)
    assert r.status_code == 200 and len(r.json()["predictions"][0]) == 10
    r = httpx.post(f"{server.url}/v1/models/fashion:classify", json=body, timeout=10)
    assert r.status_code == 200 and r.json()["result"][0][0][0] == "Trouser"
    assert httpx.get(f"{server.url}/v1/models/other", timeout=10).status_code == 404


def test_a_stuck_event_client_does_not_slow_the_stream(server):
    server.wait_ready()
    before = server.rate(1.5)
    stuck = [stuck_event_client(server.port) for _ in range(4)]
    try:
        time.sleep(1.0)
        after = server.rate(1.5)
        live = read_events(server.url, 3)  # another client is still served
        start = time.monotonic()
        assert server.get("/healthz").status_code == 200 and time.monotonic() - start < 1.0
    finally:
        for s in stuck:
            s.close()
    assert before > 30, before
    assert after >= 0.6 * before, (before, after)
    assert len(live) >= 3


def test_a_second_server_on_a_taken_port_fails_in_one_line(server, fashion_int8):
    proc = subprocess.run([*edgeml_command(), "serve", "--model", str(fashion_int8), "--port", str(server.port)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and f"Cannot listen on 127.0.0.1:{server.port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_public_bind_without_a_token_is_a_usage_error(fashion_int8):
    proc = subprocess.run([*edgeml_command(), "serve", "--model", str(fashion_int8), "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--token" in proc.stderr and "--insecure-public" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_finite_source_that_ends_fails_readyz_and_the_rest_api_goes_on(fashion_int8, two_classes, tmp_path,
                                                                          fashion):
    proc = ServeProcess(tmp_path, "--model", str(fashion_int8), "--source", f"images:{two_classes}")
    try:
        deadline = time.monotonic() + 15
        while "the source ended" not in proc.get("/readyz").text:
            assert time.monotonic() < deadline, proc.get("/readyz").text
            time.sleep(0.1)
        assert proc.get("/readyz").status_code == 503 and proc.frames() == 40
        png = sorted(fashion.test_dir.glob("7_*/*.png"))[0]
        body = {"instances": [{"b64": base64.b64encode(png.read_bytes()).decode()}]}
        r = httpx.post(f"{proc.url}/v1/models/{fashion_int8.stem}:classify", json=body, timeout=10)
        assert r.status_code == 200 and r.json()["result"][0][0][0] == "Sneaker"
    finally:
        assert proc.stop() == 0


def test_sigterm_stops_server_and_stream_with_exit_0_even_with_a_stuck_client(fashion_int8, two_classes, tmp_path):
    proc = ServeProcess(tmp_path, "--model", str(fashion_int8), "--source", f"images:{two_classes}", "--loop",
                        token="t0k")
    proc.wait_ready()
    assert httpx.get(f"{proc.url}/metrics", timeout=5).status_code == 401  # the token is enforced
    stuck = stuck_event_client(proc.port, "t0k")
    try:
        time.sleep(0.5)
        start = time.monotonic()
        code = proc.stop(signal.SIGTERM, timeout=10.0)
        took = time.monotonic() - start
    finally:
        stuck.close()
    assert code == 0, proc.stderr
    assert took < 6.0, took
    assert "stopped by SIGTERM" in proc.stderr and "frames in" in proc.stderr


@pytest.mark.skipif(not os.path.exists("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
                    reason="needs Debian's opencv-doc (vtest.avi)")
def test_a_looped_video_source_serves_frames(fashion_int8, tmp_path):
    pytest.importorskip("cv2", reason="video: sources need OpenCV")
    proc = ServeProcess(tmp_path, "--model", str(fashion_int8), "--source",
                        "video:/usr/share/doc/opencv-doc/examples/data/vtest.avi", "--loop")
    try:
        proc.wait_ready()
        assert proc.rate(0.5) > 0
    finally:
        assert proc.stop() == 0


def test_the_rest_api_follows_a_hot_swap_of_a_store_model(fashion_int8, two_classes, fashion, tmp_path):
    """``edgeml serve --model store:NAME --source ...``, then ``models install --activate`` of version 2: the stream
    swaps, and so does the REST side: /v1/models/NAME reports 2 and :predict / :classify answer with version 2 (a
    real model whose outputs are rolled by one class, so the answer shows which version gave it)."""
    pytest.importorskip("cryptography", reason="the [store] extra signs bundles")
    from edgeml.inference.classifier import Classifier
    from tests.integration.store_kit import bundle, cli, permuted_outputs, signed_store

    store, key = signed_store(tmp_path)
    cli("models", "install", str(bundle(tmp_path, key, 1, fashion_int8, "fashion")), "--activate",
        "--store", str(store.root))
    rolled = permuted_outputs(fashion_int8, tmp_path / "rolled.tflite")
    png = sorted(fashion.test_dir.glob("1_*/*.png"))[50]
    body = {"instances": [{"b64": base64.b64encode(png.read_bytes()).decode()}]}
    proc = ServeProcess(tmp_path, "--model", "store:fashion", "--store", str(store.root),
                        "--source", f"images:{two_classes}", "--loop", "--fps", "50")
    try:
        proc.wait_ready()
        versions = proc.get("/v1/models/fashion").json()["model_version_status"]
        assert [v["version"] for v in versions] == ["1"]
        first = httpx.post(f"{proc.url}/v1/models/fashion:classify", json=body, timeout=10).json()
        assert first["result"][0][0][0] == "Trouser"

        cli("models", "install", str(bundle(tmp_path, key, 2, rolled, "fashion")), "--activate",
            "--store", str(store.root))
        deadline = time.monotonic() + 30
        while proc.get("/v1/models/fashion").json()["model_version_status"][0]["version"] != "2":
            assert time.monotonic() < deadline, f"the REST API never reported version 2: {proc.stderr}"
            time.sleep(0.2)
        assert proc.get("/v1/models/fashion/metadata").json()["edgeml"]["model"] == {"name": "fashion",
                                                                                    "version": 2}
        predicted = httpx.post(f"{proc.url}/v1/models/fashion:predict", json=body, timeout=10).json()
        expected = Classifier("store:fashion@2", store=store.root, num_threads=1).scores(png)
        assert predicted["predictions"][0] == pytest.approx(expected.tolist(), abs=1e-6)
        second = httpx.post(f"{proc.url}/v1/models/fashion:classify", json=body, timeout=10).json()
        assert second["result"][0][0][0] != "Trouser", "classify still answered with version 1"
    finally:
        assert proc.stop() == 0, proc.stderr
