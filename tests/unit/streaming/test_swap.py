"""The model watcher (edgeml.streaming.swap) against a real model store holding the real tiny model, driven as a
stream drives it: hot swap with the same settings, health window then commit, failed invokes then revert, a
version that no longer loads marked bad, and the events each change becomes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgeml.errors import InvalidArgumentError, ModelFormatError
from edgeml.frame import Frame
from edgeml.inference.classifier import Classifier
from edgeml.store import health
from edgeml.streaming.swap import ModelWatcher
from tests.waiting import wait_for

store_kit = pytest.importorskip("tests.integration.store_kit", reason="the [store] extra signs and verifies bundles")

TINY = Path(__file__).resolve().parents[2] / "data" / "tiny_int8.tflite"
GUARD = 10.0


def until(check: Callable[[], object], what: str) -> object:
    """Poll ``check`` until it returns something truthy; fail after GUARD seconds, saying what never happened."""
    return wait_for(check, GUARD, what, poll=0.02)


@pytest.fixture
def store(tmp_path):
    """A store with tiny 1 (active, committed) and tiny 2 (installed, not active): the same real model twice."""
    store, key = store_kit.signed_store(tmp_path)
    # probe=False: the install's run of the model in a child process is the store tests' business, not the watcher's
    store.install(store_kit.bundle(tmp_path, key, 1), activate=True, probe=False)
    health.commit(store, "tiny", 1, 0)
    store.install(store_kit.bundle(tmp_path, key, 2), probe=False)
    return store


@pytest.fixture
def watched(store):
    """A classifier of ``store:tiny`` and its watcher (started; polls rarely: tests wake it with check_now)."""
    clf = Classifier("store:tiny", store=store.root, num_threads=1)
    watcher = ModelWatcher(clf, poll_s=60).start()
    yield clf, watcher
    watcher.stop()


def frame_result(watcher: ModelWatcher, clf: Classifier) -> None:
    """One frame classified by ``clf``, reported to the watcher as the inference thread does."""
    from edgeml.streaming.stats import StreamResult

    frame = Frame(np.full((48, 64, 3), 128, np.uint8))
    result = StreamResult(0, time.time(), tuple(clf.classify(frame.pixels, top_k=1)), 1.0, "test")
    watcher.observe(result, frame)


def swap(watcher: ModelWatcher, running: Classifier) -> Classifier:
    watcher.check_now()
    new = until(lambda: watcher.take(running), "the watcher never offered the new version")
    assert isinstance(new, Classifier)
    return new


def test_a_classifier_not_from_the_store_is_refused_with_the_fix():
    with pytest.raises(InvalidArgumentError, match=r'opened from the model store.*Classifier\("store:NAME"\)'):
        ModelWatcher(Classifier(TINY))


def test_nothing_to_take_while_current_has_not_moved(watched):
    clf, watcher = watched
    watcher.check_now()
    time.sleep(0.2)
    assert watcher.take(clf) is None and watcher.version == 1 and watcher.events() == ()


def test_hot_swap_offers_the_new_version_built_with_the_same_settings(store, watched):
    clf, watcher = watched
    store.activate("tiny", 2)
    new = swap(watcher, clf)
    assert new is not clf and new.identity.version == 2 and watcher.version == 2
    assert new.num_threads == clf.num_threads == 1  # reopen keeps the running classifier's settings
    assert new.classify(np.zeros((10, 10, 3), np.uint8), top_k=1)  # built and warmed: it runs
    events = watcher.events()
    assert {"event": "model_swapped", "model": "tiny", "previous": 1, "version": 2} in events
    assert watcher.events() == ()  # each event is handed out once
    watcher.check_now()  # the next step closes the retired classifier
    until(lambda: clf._interpreter is None, "the retired classifier was never closed")


def test_a_pending_version_is_committed_after_its_health_window(store, watched):
    clf, watcher = watched
    store.activate("tiny", 2, health_frames=3)
    new = swap(watcher, clf)
    for _ in range(2):
        frame_result(watcher, new)
    watcher.check_now()
    time.sleep(0.2)
    assert store.status("tiny")["committed"] == 1, "2 frames < the 3-frame window"
    frame_result(watcher, new)
    watcher.check_now()
    until(lambda: store.status("tiny")["committed"] == 2, "version 2 was never committed")
    assert store.status("tiny")["pending"] is None
    until(lambda: any(e["event"] == "model_committed" and e["version"] == 2 for e in watcher.events()),
          "no model_committed event")


def test_failed_invokes_revert_a_pending_version_and_the_committed_one_comes_back(store, watched):
    clf, watcher = watched
    store.activate("tiny", 2, max_failures=2)
    new = swap(watcher, clf)
    error = ModelFormatError("invoke failed")
    assert watcher.failed(error) and watcher.failed(error), "the stream goes on while a revert is on its way"
    watcher.check_now()
    until(lambda: store.current("tiny") == 1, "version 2 was never reverted")
    assert "failed 2 invokes in a row" in store.status("tiny")["bad"]["2"]["reason"]
    back = swap(watcher, new)
    assert back.identity.version == 1 and watcher.version == 1
    kinds = [e["event"] for e in watcher.events()]
    assert "model_reverted" in kinds and kinds.count("model_swapped") == 2


def test_a_failed_invoke_of_a_committed_version_ends_the_stream(watched):
    """No health window (version 1 is committed): nothing to revert to, so the stream must stop on the error."""
    _, watcher = watched
    assert watcher.failed(ModelFormatError("invoke failed")) is False


def test_a_version_that_no_longer_loads_is_marked_bad_and_current_goes_back(store, watched):
    clf, watcher = watched
    store.activate("tiny", 2)
    store.model_path("tiny", 2).write_bytes(b"damaged on disk")  # after activation, before the stream loads it
    watcher.check_now()
    until(lambda: store.current("tiny") == 1, "current never went back to 1")
    assert watcher.take(clf) is None and watcher.version == 1
    assert 2 in [int(v) for v in store.status("tiny")["bad"]]
    kinds = [e["event"] for e in watcher.events()]
    assert kinds[:2] == ["model_load_failed", "model_reverted"]


def test_stop_ends_the_thread_and_closes_what_was_retired(store, watched):
    clf, watcher = watched
    store.activate("tiny", 2)
    swap(watcher, clf)
    watcher.stop()
    assert not any(t.name == "edgeml-model-watch" and t.is_alive() for t in threading.enumerate())
    assert clf._interpreter is None
