"""Run mutants through worker processes; a worker killed by a signal or stuck past the timeout is replaced.

Each worker (:mod:`tests.fuzz.worker`) is a ``python -m tests.fuzz.worker`` child fed recipes on stdin. A thread per
worker sends one recipe at a time and waits for its answers with a deadline, so a native crash costs one
process, never the run, and a hang is counted, killed and replaced.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_LIMIT = 400  # an error message longer than this, or on several lines, is a finding too


@dataclass(frozen=True)
class Recipe:
    """One mutant: a model file (by path, named for the seed), a mutation kind, a seed."""

    name: str
    model: str
    kind: str
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "kind": self.kind, "seed": self.seed}


@dataclass(frozen=True)
class Outcome:
    recipe: Recipe
    entry: str
    outcome: str  # ran | edgeml | exception | signal | hang
    message: str = ""
    ms: float = 0.0

    @property
    def bad_message(self) -> bool:
        """An EdgemlError whose message is not one line of at most MESSAGE_LIMIT characters."""
        return self.outcome == "edgeml" and ("\n" in self.message or len(self.message) > MESSAGE_LIMIT)

    @property
    def finding(self) -> bool:
        return self.outcome in ("exception", "signal", "hang") or self.bad_message


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    restarts: int = 0

    @property
    def findings(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.finding]

    def counts(self, by: str) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for o in self.outcomes:
            key = o.recipe.kind if by == "kind" else o.entry if by == "entry" else o.recipe.name
            table.setdefault(key, Counter())[o.outcome] += 1
        return table


class _Worker:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._buf = b""

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=env,
                                     start_new_session=True)
        self._buf = b""

    def stop(self) -> int:
        """End the worker (killing it if it still runs); return its exit code (negative: the signal)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        self.proc = None
        return code

    def _line(self, deadline: float) -> dict[str, Any] | str:
        """The next answer; ``"eof"`` when the process closed its end, ``"timeout"`` when the deadline passed."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return "timeout"
            chunk = os.read(fd, 65536)
            if not chunk:
                return "eof"
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def run(self, recipe: Recipe, entries: tuple[str, ...]) -> Iterator[Outcome]:
        """Run ``recipe`` through ``entries``; stops early (``self.proc`` None) when the worker died or hung."""
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({**recipe.to_dict(), "entries": list(entries)}) + "\n").encode())
        self.proc.stdin.flush()
        current = entries[0]
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._line(deadline)
            if msg == "timeout":
                self.stop()
                yield Outcome(recipe, current, "hang", f"no answer within {self.timeout:g} s")
                return
            if msg == "eof":
                try:
                    code = self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    code = 0
                self.stop()
                detail = signal.Signals(-code).name if code < 0 else f"the worker exited with status {code}"
                yield Outcome(recipe, current, "signal" if code < 0 else "exception", detail)
                return
            assert isinstance(msg, dict)
            if "begin" in msg:
                current = msg["begin"]
                deadline = time.monotonic() + self.timeout
            elif "entry" in msg:
                yield Outcome(recipe, msg["entry"], msg["outcome"], msg["message"], msg["ms"])
            elif "error" in msg:
                raise RuntimeError(f"cannot make mutant {recipe}: {msg['error']}")
            elif msg.get("done"):
                return


def run(recipes: Iterable[Recipe], entries: tuple[str, ...], jobs: int = 2, timeout: float = 20.0,
        progress: bool = False) -> Results:
    """Run every recipe through ``entries`` on ``jobs`` worker processes; return every outcome."""
    todo: queue.Queue[Recipe | None] = queue.Queue()
    items = list(recipes)
    for r in items:
        todo.put(r)
    results = Results()
    lock = threading.Lock()
    t0 = time.monotonic()

    def loop() -> None:
        worker = _Worker(timeout)
        try:
            while True:
                try:
                    recipe = todo.get_nowait()
                except queue.Empty:
                    return
                if recipe is None:
                    return
                try:
                    got = list(_run_one(worker, recipe, entries))
                except RuntimeError as exc:  # a broken mutator: say so, keep going
                    print(f"harness: {exc}", file=sys.stderr)
                    continue
                with lock:
                    results.outcomes.extend(got)
                    if any(o.outcome in ("signal", "hang") for o in got):
                        results.restarts += 1
                    done = len({id(o.recipe) for o in results.outcomes})
                    if progress and done % 200 == 0:
                        print(f"  {done}/{len(items)} mutants, {time.monotonic() - t0:.0f} s", file=sys.stderr)
        finally:
            worker.stop()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.seconds = time.monotonic() - t0
    return results


def _run_one(worker: _Worker, recipe: Recipe, entries: tuple[str, ...]) -> Iterator[Outcome]:
    """Run one recipe; after a death, the entry points not yet run get a fresh worker."""
    remaining = list(entries)
    while remaining:
        got = list(worker.run(recipe, tuple(remaining)))
        yield from got
        if worker.proc is not None or not got:  # finished normally (or nothing more to learn)
            return
        done = {o.entry for o in got}
        remaining = [e for e in remaining if e not in done]
