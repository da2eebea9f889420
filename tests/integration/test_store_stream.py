"""A running stream and the model store, on a real video and real models: hot swap, canary, commit or revert."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from edgeml.errors import ModelFormatError
from edgeml.inference.classifier import Classifier
from edgeml.streaming import Stream
from edgeml.streaming.swap import ModelWatcher
from tests.integration.store_kit import bundle, cli, permuted_outputs, signed_store

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def video():
    pytest.importorskip("cv2")
    if not VTEST.is_file():
        pytest.skip("needs Debian's opencv-doc (make test installs it)")
    return f"video:{VTEST}"


@pytest.fixture
def fashion_store(tmp_path, fashion_int8):
    """Fashion int8 as version 1, active and committed."""
    store, key = signed_store(tmp_path)
    store.install(bundle(tmp_path, key, 1, fashion_int8, "fashion"), activate=True)
    store.activate("fashion", 1)
    from edgeml.store import health
    health.commit(store, "fashion", 1, 0)
    return store, key


def _run(stream: Stream) -> list:
    return list(stream)


def test_hot_swap_mid_stream_drops_no_frame(video, fashion_store, fashion_float, tmp_path):
    store, key = fashion_store
    v2 = bundle(tmp_path, key, 2, fashion_float, "fashion")
    clf = Classifier("store:fashion", store=store.root, num_threads=1)
    # Paced at 100 fps so the swap lands inside the run however loaded the machine; the install runs in the
    # consumer, as an operator's command would run beside the stream.
    stream = Stream(video, clf, top_k=1, max_frames=400, poll_s=0.05, fps=100)
    results = []
    for r in stream:
        results.append(r)
        if r.index == 20:
            store.install(v2, activate=True)
    indices = [r.index for r in results]
    assert indices == list(range(len(results))) == list(range(400)), "a frame was dropped or reordered"
    assert all(r.error is None for r in results)
    versions = [r.model["version"] for r in results]
    swap = versions.index(2)
    assert set(versions[:swap]) == {1} and set(versions[swap:]) == {2}, "one switch, never back"
    assert results[0].model == {"name": "fashion", "version": 1}
    assert {"event": "model_swapped", "model": "fashion", "previous": 1, "version": 2} in results[swap].events


def test_canary_promotes_a_good_retrain_and_rejects_a_broken_one(video, fashion_store, fashion_float, fashion_int8,
                                                                  tmp_path, caplog):
    """Version 2 is the same network converted to float (agrees ~96% on vtest); version 3 names the wrong class
    (its last layer's rows rolled by one: it loads, verifies and runs, but agrees 0%)."""
    store, key = fashion_store
    store.install(bundle(tmp_path, key, 2, fashion_float, "fashion"))
    broken = permuted_outputs(fashion_int8, tmp_path / "fashion_cnn_int8.tflite")
    store.install(bundle(tmp_path, key, 3, broken, "fashion"))
    events: list[dict] = []
    clf = Classifier("store:fashion", store=store.root, num_threads=1)

    def run_canary(version: int) -> list:
        store.canary("fashion", version, frames=40, min_agreement=0.85, every=2)
        stream = Stream(video, clf if version == 2 else Classifier("store:fashion", store=store.root),
                        top_k=1, max_frames=300, poll_s=0.05, on_event=events.append, fps=200)
        return _run(stream)

    with caplog.at_level(logging.INFO, logger="edgeml.store"):
        first = run_canary(2)
    promoted = [e for e in events if e["event"] == "canary_promoted"]
    assert promoted and promoted[0]["version"] == 2 and promoted[0]["figures"]["agreement"] >= 0.85
    assert first[-1].model["version"] == 2 and store.current("fashion") == 2
    assert "canary_promoted" in caplog.text
    store.activate("fashion", 2)  # pending -> commit it before the next canary
    from edgeml.store import health
    health.commit(store, "fashion", 2, 0)

    events.clear()
    with caplog.at_level(logging.INFO, logger="edgeml.store"):
        second = run_canary(3)
    rejected = [e for e in events if e["event"] == "canary_rejected"]
    assert rejected and rejected[0]["figures"]["agreement"] < 0.5, events
    assert {r.model["version"] for r in second} == {2} and store.current("fashion") == 2, "never served"
    assert "canary_rejected" in caplog.text
    shown = json.loads(cli("models", "show", "fashion", "--json", "--store", str(store.root)).stdout)
    v3 = next(v for v in shown["versions"] if v["version"] == 3)
    assert v3["bad"] and v3["canary"]["passed"] is False and v3["canary"]["agreement"] < 0.5
    assert next(v for v in shown["versions"] if v["version"] == 2)["canary"]["passed"] is True
    text = cli("models", "show", "fashion", "--store", str(store.root)).stdout
    assert "rejected" in text or "bad" in text


def test_pending_until_its_health_window_then_committed(video, fashion_store, fashion_float, tmp_path):
    store, key = fashion_store
    store.install(bundle(tmp_path, key, 2, fashion_float, "fashion"))
    store.activate("fashion", 2, health_frames=50)
    assert store.status("fashion")["pending"]["version"] == 2 and store.status("fashion")["committed"] == 1
    events: list[dict] = []
    clf = Classifier("store:fashion", store=store.root, num_threads=1)
    _run(Stream(video, clf, top_k=1, max_frames=30, poll_s=0.05, on_event=events.append))
    assert store.status("fashion")["committed"] == 1, "30 frames < the 50-frame window"
    _run(Stream(video, Classifier("store:fashion", store=store.root), top_k=1, max_frames=120, poll_s=0.05,
                on_event=events.append))
    assert store.status("fashion")["committed"] == 2 and store.status("fashion")["pending"] is None
    assert any(e["event"] == "model_committed" and e["version"] == 2 for e in events)


def test_restarts_with_a_pending_version_revert_it(video, fashion_store, fashion_float, tmp_path):
    """K short runs of `edgeml classify` (a service crash-looping before the health window ends): run K+1 reverts."""
    store, key = fashion_store
    store.install(bundle(tmp_path, key, 2, fashion_float, "fashion"))
    cli("models", "activate", "fashion", "2", "--health-frames", "1000", "--max-starts", "2", "--store",
        str(store.root))
    args = ("classify", "--model", "store:fashion", "--source", video, "--max-frames", "3", "--json",
            "--store", str(store.root))
    for _ in range(2):
        done = cli(*args)
        assert json.loads(done.stdout.splitlines()[0])["model"] == {"name": "fashion", "version": 2}
    done = cli(*args)
    assert "reverted to 1" in done.stderr
    assert json.loads(done.stdout.splitlines()[0])["model"] == {"name": "fashion", "version": 1}
    assert store.current("fashion") == 1 and store.status("fashion")["bad"].get("2")


def test_python_streams_count_their_starts_too(fashion_store, fashion_float, tmp_path, caplog):
    """``edgeml.stream(...)`` on ``store:NAME`` counts starts like the CLI: the start after the allowed ones
    reverts the pending version, and the running stream then swaps to the version reverted to."""
    import edgeml

    store, key = fashion_store
    store.install(bundle(tmp_path, key, 2, fashion_float, "fashion"))
    cli("models", "activate", "fashion", "2", "--health-frames", "1000", "--max-starts", "2", "--store",
        str(store.root))
    for _ in range(2):
        clf = Classifier("store:fashion", store=store.root, num_threads=1)
        results = list(edgeml.stream("synthetic", clf, max_frames=2, poll_s=0.05))
        assert {r.model["version"] for r in results} == {2}
    assert store.current("fashion") == 2
    clf = Classifier("store:fashion", store=store.root, num_threads=1)  # loads 2; its third start reverts it
    with caplog.at_level(logging.WARNING, logger="edgeml.streaming.loop"):
        results = list(edgeml.stream("synthetic", clf, max_frames=60, poll_s=0.05, fps=30))
    assert store.current("fashion") == 1 and store.status("fashion")["bad"].get("2")
    assert any("reverted to 1" in r.getMessage() for r in caplog.records)
    assert results[-1].model == {"name": "fashion", "version": 1}, "the stream never swapped to the reverted-to"


def _invoke_error() -> ModelFormatError:
    """A real interpreter failure (input resized without re-allocation), as a model that breaks at run time."""
    clf = Classifier(DATA / "dynamic_int8.tflite")
    clf.interpreter.resize_tensor_input(clf.input.index, [2, 32, 32, 3])
    try:
        clf.pipeline._invoke()
    except ModelFormatError as exc:
        return exc
    raise AssertionError("expected the invoke to fail")


def test_failed_invokes_revert_a_pending_version(fashion_store, fashion_float, tmp_path):
    store, key = fashion_store
    store.install(bundle(tmp_path, key, 2, fashion_float, "fashion"))
    store.activate("fashion", 2, max_failures=3)
    watcher = ModelWatcher(Classifier("store:fashion", store=store.root), poll_s=0.05).start()
    try:
        error = _invoke_error()
        assert all(watcher.failed(error) for _ in range(3)), "the stream goes on while a revert is on its way"
        watcher.check_now()
        for _ in range(100):
            if store.current("fashion") == 1:
                break
            threading.Event().wait(0.05)
    finally:
        watcher.stop()
    assert store.current("fashion") == 1 and "failed 3 invokes" in store.status("fashion")["bad"]["2"]["reason"]
    assert any(e["event"] == "model_reverted" for e in watcher.events())
