"""The MQTT outbox: durable FIFO order, bounds with a persisted drop counter, clear errors, thread safety, mode 0600."""

from __future__ import annotations

import json
import stat
import threading

import pytest

from edgeml.errors import InvalidArgumentError, SinkError
from edgeml.sinks.outbox import Outbox, outbox_path


def _events(start: int, n: int) -> list[dict[str, object]]:
    return [{"id": f"dev-run-{i}", "seq": i} for i in range(start, start + n)]


def _seqs(rows: list[tuple[int, str]]) -> list[int]:
    return [json.loads(body)["seq"] for _, body in rows]


def test_rows_come_back_in_order_and_survive_a_reopen(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")
    box.put_many(_events(1, 3))
    box.put_many(_events(4, 2))
    rows = box.peek(10)
    assert _seqs(rows) == [1, 2, 3, 4, 5]
    assert [r for r, _ in rows] == sorted(r for r, _ in rows)
    assert _seqs(box.peek(2, after_rowid=rows[1][0])) == [3, 4]
    box.close()
    again = Outbox(tmp_path / "o.sqlite3")
    assert again.depth() == 5 and _seqs(again.peek(10)) == [1, 2, 3, 4, 5]
    again.close()


def test_delete_removes_only_acknowledged_rows_and_ids_never_repeat(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")
    box.put_many(_events(1, 4))
    rows = box.peek(10)
    box.delete([rows[0][0], rows[2][0], 999_999])  # an id already gone is ignored
    assert box.depth() == 2 and _seqs(box.peek(10)) == [2, 4]
    box.delete([r for r, _ in box.peek(10)])
    assert box.depth() == 0
    box.put_many(_events(5, 1))
    assert box.peek(1)[0][0] > rows[-1][0]  # AUTOINCREMENT: a drainer paging with after_rowid never skips a row
    box.close()


def test_over_max_events_the_oldest_are_dropped_and_counted_across_reopen(tmp_path):
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, max_events=5)
    box.put_many(_events(1, 4))
    box.put_many(_events(5, 3))  # 7 rows: the 2 oldest go
    assert box.depth() == 5 and box.dropped == 2
    assert _seqs(box.peek(10)) == [3, 4, 5, 6, 7]
    box.close()
    again = Outbox(path, max_events=5)
    again.put_many(_events(8, 10))  # one batch bigger than the bound keeps its newest 5
    assert again.dropped == 12 and _seqs(again.peek(10)) == [13, 14, 15, 16, 17]
    again.close()
    assert again.dropped == 12 and again.depth() == 5  # still readable for the closing stats line
    assert Outbox(path, max_events=3).dropped == 14  # a smaller bound prunes at open, counted too


def test_rows_older_than_max_age_are_dropped_and_counted(tmp_path):
    now = [1000.0]
    box = Outbox(tmp_path / "o.sqlite3", max_age_s=60, clock=lambda: now[0])
    box.put_many(_events(1, 3))
    now[0] += 30
    box.put_many(_events(4, 2))
    now[0] += 40  # the first batch is 70 s old, the second 40 s
    box.put_many(_events(6, 1))
    assert _seqs(box.peek(10)) == [4, 5, 6] and box.dropped == 3 and box.depth() == 3
    box.close()
    now[0] += 100  # everything is stale by the next start
    again = Outbox(tmp_path / "o.sqlite3", max_age_s=60, clock=lambda: now[0])
    assert again.depth() == 0 and again.dropped == 6
    again.close()


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 4080])
def test_a_corrupt_file_gives_a_sink_error_that_says_to_move_it_aside(tmp_path, content):
    path = tmp_path / "o.sqlite3"
    path.write_bytes(content)
    with pytest.raises(SinkError, match=r"cannot be opened: .*Move it aside \(mv .*o\.sqlite3 .*\.bad"):
        Outbox(path)
    assert isinstance(SinkError("x"), OSError)


def test_a_folder_in_the_way_gives_a_sink_error(tmp_path):
    (tmp_path / "o.sqlite3").mkdir()
    with pytest.raises(SinkError, match=r"o\.sqlite3.*cannot be opened"):
        Outbox(tmp_path / "o.sqlite3")


def test_bad_bounds_are_refused():
    with pytest.raises(InvalidArgumentError, match="max_events >= 1.*Received: max_events=0"):
        Outbox("unused.sqlite3", max_events=0)


def test_a_closed_outbox_says_so(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")
    box.close()
    box.close()
    with pytest.raises(SinkError, match="closed"):
        box.put_many(_events(1, 1))


def test_concurrent_put_and_delete_from_two_threads_lose_nothing(tmp_path):
    """The dispatcher thread appends while paho's thread deletes acknowledged rows: every row is seen once."""
    box = Outbox(tmp_path / "o.sqlite3")
    total, seen, errors = 2000, [], []
    done = threading.Event()

    def producer() -> None:
        try:
            for start in range(0, total, 20):
                box.put_many(_events(start, 20))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        done.set()

    def consumer() -> None:
        try:
            while not (done.is_set() and box.depth() == 0):
                rows = box.peek(7)
                seen.extend(_seqs(rows))
                box.delete(r for r, _ in rows)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert seen == list(range(total)) and box.depth() == 0 and box.dropped == 0
    box.close()


def test_file_is_private_and_lives_under_store_outbox(tmp_path):
    path = outbox_path(tmp_path / "store", "mqtt://user@broker:1883/edgeml/kiosk1")
    assert path.parent == tmp_path / "store" / "outbox"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert outbox_path(tmp_path / "store", "mqtt://broker:1883/a_b") != outbox_path(tmp_path / "store",
                                                                                     "mqtt://broker:1883/a/b")
    box = Outbox(path)
    box.put_many(_events(1, 1))
    for p in path.parent.iterdir():  # the WAL and shared-memory files too
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    box.close()
    path.chmod(0o644)
    Outbox(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
