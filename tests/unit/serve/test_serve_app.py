"""``edgeml serve``'s app against a real classifier on the real Fashion-MNIST int8 model: TF Serving's REST
surface, errors as JSON, body limit, token gate, /metrics, /readyz, preview, kiosk page and the live event hub."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import json
import threading
import time
import warnings
from typing import Any

import pytest

pytest.importorskip("starlette", reason="edgeml serve needs starlette: pip install 'edgeml[serve]'")
pytest.importorskip("prometheus_client", reason="edgeml serve needs prometheus-client: pip install 'edgeml[serve]'")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")

from prometheus_client.parser import text_string_to_metric_families

from edgeml.errors import InvalidArgumentError
from edgeml.inference.classifier import Classifier
from edgeml.serve.access import check_bind
from edgeml.serve.app import create_app
from edgeml.serve.hub import EventHub
from edgeml.serve.state import ServeState
from edgeml.sinks.dispatch import Dispatcher
from edgeml.streaming import Stream

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

SNEAKER = 7


@pytest.fixture(scope="module")
def clf(fashion_int8):
    return Classifier(fashion_int8)


@pytest.fixture(scope="module")
def sneakers(fashion):
    """Real Fashion-MNIST test PNGs of class 7 (Sneaker)."""
    return sorted(fashion.test_dir.glob(f"{SNEAKER}_*/*.png"))[:5]


def b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def client(clf, **kwargs) -> tuple[Any, ServeState]:
    """A starlette TestClient (in-process HTTP) on an app built like ``edgeml serve`` builds it."""
    with warnings.catch_warnings():  # starlette 1.x: "install httpx2" (httpx still works)
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient

    state = ServeState.create(clf, "fashion", **kwargs)
    return TestClient(create_app(state)), state


def stream_results(clf, fashion, frames: int = 12, keep_frames: bool = False) -> list:
    """Run a real stream over real test images and return its results (through a real dispatcher)."""
    out: list = []
    dispatcher = Dispatcher([], observers=[out.append]).start()
    stream = Stream(f"images:{fashion.test_dir}", clf.reopen(clf.model_path), max_frames=frames,
                    keep_frames=keep_frames, on_result=dispatcher.submit)
    stream.run()
    dispatcher.close(timeout=2.0)
    assert len(out) == frames
    return out


def test_predict_returns_every_class_probability_of_a_real_image(clf, sneakers):
    c, _ = client(clf)
    r = c.post("/v1/models/fashion:predict", json={"instances": [{"b64": b64(p)} for p in sneakers]})
    assert r.status_code == 200
    rows = r.json()["predictions"]
    assert len(rows) == len(sneakers) and all(len(row) == 10 for row in rows)
    assert all(abs(sum(row) - 1.0) < 0.05 for row in rows)
    assert sum(max(range(10), key=row.__getitem__) == SNEAKER for row in rows) >= 4


@pytest.mark.parametrize("key, wrap", [("instances", lambda s: {"b64": s}),
                                       ("examples", lambda s: {"image": {"b64": s}}),
                                       ("instances", lambda s: {"image_bytes": {"b64": s}})])
def test_classify_answers_in_tf_servings_result_shape(clf, sneakers, key, wrap):
    c, _ = client(clf, top_k=3)
    r = c.post("/v1/models/fashion:classify", json={key: [wrap(b64(sneakers[0]))]})
    assert r.status_code == 200
    (pairs,) = r.json()["result"]
    assert len(pairs) == 3 and pairs[0][0] == "Sneaker" and pairs[0][1] >= pairs[1][1] >= pairs[2][1]
    assert all(isinstance(label, str) and isinstance(score, float) for label, score in pairs)


def test_a_nested_uint8_pixel_list_classifies_like_the_png(clf, sneakers):
    from PIL import Image

    pixels = __import__("numpy").asarray(Image.open(sneakers[0]).convert("RGB")).tolist()  # 28 x 28 x 3
    c, _ = client(clf)
    by_list = c.post("/v1/models/fashion:classify", json={"instances": [pixels]}).json()["result"][0]
    by_png = c.post("/v1/models/fashion:classify", json={"instances": [{"b64": b64(sneakers[0])}]}).json()
    assert by_list[0][0] == by_png["result"][0][0][0] == "Sneaker"


def test_model_status_and_metadata_follow_tf_serving(clf):
    c, _ = client(clf)
    assert c.get("/v1/models/fashion").json() == {"model_version_status": [
        {"version": "0", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert c.get("/v1/models/fashion/versions/0").status_code == 200
    assert c.get("/v1/models/fashion/versions/7").status_code == 404
    meta = c.get("/v1/models/fashion/metadata").json()
    assert meta["model_spec"]["name"] == "fashion" and meta["edgeml"]["labels"][SNEAKER] == "Sneaker"


@pytest.mark.parametrize("method, path", [("GET", "/v1/models/resnet"), ("POST", "/v1/models/resnet:predict"),
                                          ("GET", "/v1/models/resnet/metadata")])
def test_an_unknown_model_is_404_with_tf_servings_error_body(clf, method, path):
    c, _ = client(clf)
    r = c.request(method, path, json={"instances": [[0]]})
    assert r.status_code == 404 and "resnet" in r.json()["error"]


def _truncated_png(sneakers) -> str:
    return base64.b64encode(sneakers[0].read_bytes()[:60]).decode()


@pytest.mark.parametrize("body, message", [
    ({"instances": [{"b64": "not base64 !!"}]}, "not valid base64"),
    ({"instances": [{"b64": base64.b64encode(b"just some text, not an image").decode()}]}, "not an image"),
    ({"instances": [{"b64": "TRUNCATED"}]}, "could not be decoded"),
    ({"instances": [[[1, 2], [3]]]}, "rectangular"),
    ({"instances": [[[[1, 2, 3, 4, 5]]]]}, "shaped"),
    ({"instances": [[[300, 0, 0]]]}, "0..255"),
    ({"instances": []}, "non-empty"),
    ({"inputs": {"x": [1]}}, "columnar"),
    ({"instances": [{"text": "hello"}]}, "keys"),
])
def test_a_bad_request_or_image_is_400_with_the_reason_never_a_500(clf, sneakers, body, message):
    if body.get("instances") and body["instances"][0] == {"b64": "TRUNCATED"}:
        body = {"instances": [{"b64": _truncated_png(sneakers)}]}
    c, _ = client(clf)
    r = c.post("/v1/models/fashion:predict", json=body)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"] and "Traceback" not in r.text


def test_a_body_that_is_not_json_is_400(clf):
    c, _ = client(clf)
    r = c.post("/v1/models/fashion:classify", content=b"\x89PNG raw bytes", headers={"content-type": "image/png"})
    assert r.status_code == 400 and "not JSON" in r.json()["error"]


def test_a_body_above_the_limit_is_413_before_it_is_decoded(clf, sneakers):
    c, _ = client(clf, max_body=4096)
    big = {"instances": [{"b64": b64(sneakers[0])}] * 20}
    r = c.post("/v1/models/fashion:predict", json=big)
    assert r.status_code == 413 and "4096 bytes" in r.json()["error"]
    assert c.post("/v1/models/fashion:predict", json={"instances": [{"b64": b64(sneakers[0])}]}).status_code == 200


def test_a_token_guards_every_route_but_healthz(clf, sneakers):
    c, _ = client(clf, token="s3cret")
    assert c.get("/healthz").status_code == 200
    for path in ("/", "/metrics", "/readyz", "/v1/models/fashion", "/events"):
        r = c.get(path)
        assert r.status_code == 401 and "Bearer" in r.json()["error"], path
    auth = {"Authorization": "Bearer s3cret"}
    assert c.get("/metrics", headers=auth).status_code == 200
    assert c.get("/?token=s3cret").status_code == 200  # the kiosk page and its EventSource cannot send headers
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    body = {"instances": [{"b64": b64(sneakers[0])}]}
    assert c.post("/v1/models/fashion:predict?token=s3cret", json=body).status_code == 401  # POST: header only
    assert c.post("/v1/models/fashion:predict", json=body, headers=auth).status_code == 200


@pytest.mark.parametrize("host, token, public, preview, error", [
    ("127.0.0.1", None, False, True, None),
    ("::1", None, False, False, None),
    ("localhost", None, False, False, None),
    ("0.0.0.0", "t0ken", False, False, None),
    ("192.168.1.20", None, True, False, None),
    ("0.0.0.0", None, False, False, "--token TOKEN .* --insecure-public"),
    ("kiosk.local", None, False, False, "--insecure-public"),
    ("0.0.0.0", "t0ken", False, True, "--preview .* loopback"),
    ("127.0.0.1", " ", False, False, "must not be empty"),
])
def test_a_public_bind_needs_a_token_or_an_explicit_opt_in(host, token, public, preview, error):
    if error is None:
        check_bind(host, token=token, insecure_public=public, preview=preview)
    else:
        with pytest.raises(InvalidArgumentError, match=error):
            check_bind(host, token=token, insecure_public=public, preview=preview)


def test_the_serve_command_refuses_a_public_bind_before_loading_anything(tmp_path):
    from edgeml.cli import Parser
    from edgeml.cli import serve as serve_cli

    parser = Parser(prog="edgeml")
    serve_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--model", str(tmp_path / "missing.tflite"), "--host", "0.0.0.0"])
    with pytest.raises(InvalidArgumentError, match="--token TOKEN .* --insecure-public"):
        args.func(args)  # before the (missing) model is opened: the bind is checked first


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_count_a_real_streams_results_stages_and_model_version(clf, fashion):
    results = stream_results(clf, fashion)
    stats = {"frames": 12, "captured": 12, "dropped": 0, "errors": 0, "read_failures": 0, "reconnects": 1}
    dispatcher = Dispatcher([])
    c, state = client(clf, streaming=True, stream_stats=lambda: stats)
    state.metrics.dispatcher_status = dispatcher.status
    for r in results:
        for observe in state.observers:
            observe(r)
    families = _families(c.get("/metrics").text)
    for name in ("edgeml_frames", "edgeml_results", "edgeml_errors", "edgeml_dropped", "edgeml_read_failures",
                 "edgeml_reconnects", "edgeml_fps", "edgeml_stage_seconds", "edgeml_latency_seconds",
                 "edgeml_model_info", "edgeml_dispatch_dropped", "edgeml_sse_dropped"):
        assert name in families, name
    value = {s.name: s.value for f in families.values() for s in f.samples if not s.labels}
    assert value["edgeml_frames_total"] == 12 and value["edgeml_results_total"] == 12
    assert value["edgeml_reconnects_total"] == 1 and value["edgeml_fps"] > 0
    stage_counts = {s.labels["stage"]: s.value for s in families["edgeml_stage_seconds"].samples
                    if s.name.endswith("_count")}
    assert {"preprocess", "invoke", "total"} <= set(stage_counts) and stage_counts["invoke"] == 12
    (info,) = families["edgeml_model_info"].samples
    assert info.labels == {"name": clf.model_path.stem, "version": "0"} and info.value == 1
    # A hot swap: results now say another version; the old series goes, the new one is the only one.
    swapped = dataclasses.replace(results[-1], model={"name": "kiosk", "version": 3})
    state.metrics.observe(swapped)
    (info,) = _families(c.get("/metrics").text)["edgeml_model_info"].samples
    assert info.labels == {"name": "kiosk", "version": "3"}


def test_readyz_waits_for_a_fresh_stream_result(clf, fashion):
    (result,) = stream_results(clf, fashion, frames=1)
    c, state = client(clf, streaming=True, ready_after_s=0.3)
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["reason"] == "no stream result yet"
    state.live.observe(result)
    assert c.get("/readyz").status_code == 200
    time.sleep(0.4)
    r = c.get("/readyz")
    assert r.status_code == 503 and "no stream result for" in r.json()["reason"]
    state.live.observe(result)
    state.live.ended = "SourceError: camera unplugged"
    assert "camera unplugged" in c.get("/readyz").json()["reason"]
    rest_only, _ = client(clf)
    assert rest_only.get("/readyz").status_code == 200 and rest_only.get("/healthz").json() == {"status": "alive"}


def test_the_preview_is_404_without_preview_and_frames_are_not_kept(clf, fashion):
    (result,) = stream_results(clf, fashion, frames=1, keep_frames=True)
    c, state = client(clf, streaming=True)
    state.live.observe(result)
    assert c.get("/preview.jpg").status_code == 404
    assert state.live.latest_frame() is None


def test_the_preview_serves_the_latest_frame_as_jpeg(clf, fashion):
    from PIL import Image

    (result,) = stream_results(clf, fashion, frames=1, keep_frames=True)
    c, state = client(clf, streaming=True, preview=True)
    assert c.get("/preview.jpg").status_code == 503  # no frame yet
    state.live.observe(result)
    r = c.get("/preview.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(r.content)).size == (result.frame.width, result.frame.height)


def test_the_kiosk_page_is_self_contained_with_stable_ids(clf):
    c, _ = client(clf)
    html = c.get("/").text
    for element in ('id="label"', 'id="score"', 'id="fps"', 'id="model"', "EventSource"):
        assert element in html
    assert "http://" not in html and "https://" not in html and "<link" not in html and "src=" not in html
    assert "var PREVIEW = false;" in html


def test_a_client_that_never_reads_loses_its_oldest_events_and_never_blocks_the_publisher(clf, fashion):
    (result,) = stream_results(clf, fashion, frames=1)
    hub = EventHub(min_interval_s=0.0, heartbeat_s=3600.0, queue_size=8)

    published = threading.Event()

    async def scenario() -> tuple[list[str], list[str], int, int]:
        stuck, reader = hub.subscribe(), hub.subscribe()
        got: list[str] = []

        async def read() -> None:
            while not got or '"seq":101,' not in got[-1]:
                got.append(await reader.queue.get())

        task = asyncio.ensure_future(read())

        def publish() -> None:  # the dispatcher's thread, at 1000 results/s
            for _ in range(100):
                hub.observe(result)
                time.sleep(0.001)
            published.set()

        # A daemon thread, not the loop's executor: a publisher that waited for the stuck client would hang there
        # and the hang guard below would fail the test instead of the interpreter's exit waiting for it.
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        await asyncio.wait_for(task, 10.0)  # the last event reached the reading client: the hang guard
        publisher.join(10.0)
        left = [stuck.queue.get_nowait() for _ in range(stuck.queue.qsize())]
        return got, left, stuck.dropped, reader.dropped

    got, left, stuck_dropped, reader_dropped = asyncio.run(scenario())
    assert published.is_set()  # every observe() returned although one client never read (their cost: bench-budgets)
    assert hub.published == 101  # 100 results and the first heartbeat
    assert len(got) + reader_dropped == 101 and reader_dropped <= 5  # the reading client kept up
    assert len(left) == 8 and stuck_dropped == 93  # the stuck one kept only the newest 8, and said so
    assert hub.dropped == stuck_dropped + reader_dropped
    seqs = [int(text.split('"seq":')[1].split(",")[0]) for text in left]
    assert seqs == sorted(seqs) and seqs[-1] > 90



def test_the_hub_sends_a_change_once_a_new_top_label_has_held_and_greets_with_it(clf, fashion):
    """The kiosk's label rule: --emit-hold frames in a row at --emit-min-score or more, over every result."""
    (real,) = stream_results(clf, fashion, frames=1)
    _, state = client(clf, hold=3, min_score=0.5)
    scores = {"T": 0.9, "S": 0.9, "s": 0.3}  # "s": a Sneaker too unsure to count
    sequence = "TSTTSTTT" + "SSsSSS" + "T"

    def change_frames() -> list[int]:
        return [json.loads(t)["frame"] for t in state.hub.greeting() if '"type":"change"' in t]

    changes: list[int] = []
    for i, key in enumerate(sequence):
        label = "Trouser" if key == "T" else "Sneaker"
        top = dataclasses.replace(real.results[0], label=label, score=scores[key])
        state.hub.observe(dataclasses.replace(real, index=i, results=(top,), events=()))
        changes += [f for f in change_frames() if f not in changes]
    assert changes == [7, 13]  # Trouser held at frame 7; Sneaker at 13 (the unsure frame 10 broke its streak)
    greeting = [json.loads(t) for t in state.hub.greeting()]
    assert [g["type"] for g in greeting] == ["heartbeat", "change", "result"]
    assert greeting[1]["labels"][0]["label"] == "Sneaker"  # a page that connects now shows the held label

def test_a_request_that_cannot_get_the_model_in_time_is_503_not_a_hang(clf, sneakers):
    c, state = client(clf, request_timeout_s=0.3)
    body = {"instances": [{"b64": b64(sneakers[0])}]}
    with state.requests._lock:  # another request holds the interpreter
        start = time.monotonic()
        r = c.post("/v1/models/fashion:classify", json=body)
    assert r.status_code == 503 and "busy" in r.json()["error"] and time.monotonic() - start < 2.0
    assert c.post("/v1/models/fashion:classify", json=body).status_code == 200
    requests = {tuple(sorted(s.labels.items())): s.value for s in _families(c.get("/metrics").text)
                ["edgeml_http_requests"].samples if s.name.endswith("_total")}
    assert requests[(("code", "503"), ("method", "classify"))] == 1
