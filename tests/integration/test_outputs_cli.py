"""``edgeml classify --source S --output SINK``: schema-1 events to stdout and files with the emit policy, usage
rules, and privacy: with only file sinks the process still opens no socket and writes nothing but its sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import run_cli
from tests.integration.test_stream_cli import _AUDIT


@pytest.fixture(scope="module")
def two_classes(fashion, tmp_path_factory):
    """An images: folder of 20 real Fashion-MNIST test images of one class, then 20 of another (sorted names)."""
    folder = tmp_path_factory.mktemp("two_classes")
    first = sorted(fashion.test_dir.glob("1_*/*.png"))[:20]
    second = sorted(fashion.test_dir.glob("7_*/*.png"))[:20]
    for i, path in enumerate(first + second):
        (folder / f"{i:03d}.png").symlink_to(path)
    labels = fashion.labels.read_text().split("\n")
    return folder, labels[1], labels[7]


def test_output_stdout_is_schema_1_events_one_per_frame(fashion_int8, two_classes):
    folder, _, _ = two_classes
    proc = run_cli("classify", "--model", str(fashion_int8), "--source", f"images:{folder}", "--output", "-",
                   "--top-k", "2", "--device-id", "cam-1", check=True)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["frame"] for e in events] == list(range(40))
    assert {e["schema"] for e in events} == {1} and {e["type"] for e in events} == {"result"}
    assert len({e["id"] for e in events}) == 40 and all(e["id"].startswith("cam-1-") for e in events)
    assert all(len(e["labels"]) == 2 and e["model"]["name"] == fashion_int8.stem for e in events)
    assert "sent stdout: sent 40" in proc.stderr


def test_emit_change_sends_the_label_changes_only_to_a_jsonl_file(fashion_int8, two_classes, tmp_path):
    folder, first, second = two_classes
    out = tmp_path / "results.jsonl"
    proc = run_cli("classify", "--model", str(fashion_int8), "--source", f"images:{folder}", "--output",
                   f"jsonl:{out}", "--emit", "change", "--emit-hold", "3", check=True)
    assert proc.stdout.count("frame ") == 40  # the per-frame lines still go to stdout
    events = [json.loads(line) for line in out.read_text().splitlines()]
    tops = [e["labels"][0]["label"] for e in events]
    assert all(e["type"] == "change" for e in events)
    assert tops[0] == first and tops[-1] == second and len(tops) <= 4, tops
    assert events[-1]["frame"] >= 22  # the second class had to hold for 3 frames first


def test_emit_interval_and_heartbeat_to_a_file(fashion_int8, tmp_path):
    out = tmp_path / "r.jsonl"
    run_cli("classify", "--model", str(fashion_int8), "--source", "synthetic", "--fps", "40", "--max-frames", "60",
            "--output", f"jsonl:{out}", "--emit", "interval:0.5", "--heartbeat", "0.3", check=True)
    events = [json.loads(line) for line in out.read_text().splitlines()]
    results = [e for e in events if e["type"] == "result"]
    beats = [e for e in events if e["type"] == "heartbeat"]
    assert 2 <= len(results) <= 5, len(results)  # 1.5 s of frames at most one per 0.5 s
    assert beats and all(b["stats"]["frames"] >= 1 for b in beats)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


@pytest.mark.parametrize("args, message", [
    (["--output", "-", "x.png"], "--output applies to --source"),
    (["--source", "synthetic", "--output", "-", "--json"], "both write to stdout"),
    (["--source", "synthetic", "--output", "file.jsonl"], "--output must be"),
    (["--source", "synthetic", "--output", "-", "--emit", "often"], "every, change, interval"),
])
def test_usage_errors_are_one_line_with_exit_2(fashion_int8, args, message):
    proc = run_cli("classify", "--model", str(fashion_int8), *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_a_jsonl_path_that_cannot_be_written_fails_before_the_stream(fashion_int8, tmp_path):
    proc = run_cli("classify", "--model", str(fashion_int8), "--source", "synthetic", "--output",
                   f"jsonl:{tmp_path}/missing/r.jsonl")
    assert proc.returncode == 1 and "Cannot append results to" in proc.stderr and "frames in" not in proc.stderr


def test_privacy_file_sinks_open_no_socket_and_write_only_their_file(fashion_int8, tmp_path):
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", _AUDIT, "classify", "--model", str(fashion_int8), "--source",
                           "synthetic", "--max-frames", "30", "--output", f"jsonl:{out}", "--output", "-"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    audit = json.loads(proc.stderr.split("AUDIT ", 1)[1])
    assert not [e for e in audit if e[0].startswith("socket.")]
    assert [e for e in audit if str(out) not in e[1]] == []
    assert len(out.read_text().splitlines()) == 30 and proc.stdout.count('"schema":1') == 30
