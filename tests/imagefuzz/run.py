"""The fuzzer's parent: make mutants, feed them to a worker process, count every outcome, print the table.

A worker that dies (a signal, or any exit) or does not answer within the timeout (a hang) is replaced, and the
mutant is tried again entry by entry in fresh workers, so each entry point gets its own verdict. Outcomes per
entry: ``classified``, ``edgeml_error``, ``other`` (an exception outside EdgemlError, or a stream that did not go
on), ``signal``, ``hang``; plus ``bad_message`` for an EdgemlError whose message is not one line of at most
:data:`~tests.imagefuzz.worker.MAX_MESSAGE` characters. Mutants that end in anything but the first two are
written to ``--save`` (the regression corpus).

    python -m tests.imagefuzz --mutants 5000 --model tests/data/tiny_int8.tflite [--entries classify,stream,cli]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.imagefuzz.corpus import seeds
from tests.imagefuzz.mutate import KINDS, mutate
from tests.imagefuzz.worker import MAX_MESSAGE

__all__ = ["ENTRIES", "OUTCOMES", "Report", "fuzz", "main"]

ENTRIES = ("classify", "stream", "cli")
OUTCOMES = ("classified", "edgeml_error", "other", "signal", "hang")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Report:
    """Counts per (mutation kind, entry point, outcome), the failures themselves, and the run's figures."""

    counts: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_format: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[dict[str, Any]] = field(default_factory=list)
    causes: Counter[str] = field(default_factory=Counter)  # what the classify entry's EdgemlErrors said, in short
    entries: tuple[str, ...] = ENTRIES
    mutants: int = 0
    seconds: float = 0.0
    worker_starts: int = 0
    peak_rss_mb: float = 0.0

    def add(self, kind: str, fmt: str, entry: str, result: dict[str, Any], mutant: dict[str, Any]) -> None:
        outcome = result["outcome"]
        self.counts[kind, entry][outcome] += 1
        self.by_format[fmt, entry][outcome] += 1
        bad_message = outcome == "edgeml_error" and (not result.get("one_line", True)
                                                     or result.get("length", 0) > MAX_MESSAGE)
        if bad_message:
            self.counts[kind, entry]["bad_message"] += 1
        if outcome == "edgeml_error" and entry == self.entries[0]:
            self.causes[_cause(result.get("message", ""))] += 1
        if outcome not in ("classified", "edgeml_error") or bad_message:
            self.failures.append({**mutant, "entry": entry, **result})

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def table(self) -> str:
        """Markdown: a row per mutation kind, a total, a row per format; per entry point the outcome counts."""
        head = ["mutation / format", "mutants"] + [f"{e}: classified / EdgemlError / other / signal / hang"
                                                   for e in self.entries]
        rows = [head, ["---"] * len(head)]
        for counts in (self.counts, self.by_format):
            for key in sorted({k for k, _ in counts}):
                rows.append(self._row(key, [counts[key, e] for e in self.entries]))
            if counts is self.counts:
                rows.append(self._row("**all**", [sum((self.counts[k, e] for k in KINDS), Counter())
                                                  for e in self.entries]))
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)

    @staticmethod
    def _row(label: str, per_entry: list[Counter[str]]) -> list[str]:
        mutants = sum(per_entry[0][o] for o in OUTCOMES)
        return [label, str(mutants)] + [" / ".join(str(c[o]) for o in OUTCOMES) for c in per_entry]

    def summary(self) -> str:
        return (f"{self.mutants} mutants x {len(self.entries)} entry points in {self.seconds:.0f} s: "
                f"{self.total('other')} other exceptions, {self.total('signal')} signals, {self.total('hang')} hangs, "
                f"{self.total('bad_message')} bad messages; worker starts {self.worker_starts}, worker peak RSS "
                f"{self.peak_rss_mb:.0f} MB")


class Worker:
    """One child process running :mod:`tests.imagefuzz.worker`."""

    def __init__(self, model: str, folder: Path, log: IO[bytes]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.imagefuzz.worker", model, str(folder)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=ROOT,
                                     env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        self._buffer = b""
        self._eof = False
        ready = self._line(120.0)
        if ready is None or not json.loads(ready).get("ready"):
            raise RuntimeError(f"the fuzz worker did not start (exit {self.proc.poll()})")

    def _line(self, timeout: float) -> bytes | None:
        """Read one line within ``timeout`` s; None when the process died or the time ran out."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                self._eof = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | str:
        """The answer, or ``"signal:NAME"`` / ``"exit:N"`` / ``"hang"`` (the worker is then dead)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._line(timeout)
        if line is not None:
            return json.loads(line)
        if not self._eof:  # alive and silent past the timeout
            self.kill()
            return "hang"
        try:
            code = self.proc.wait(30)  # its output closed: it is exiting
        except subprocess.TimeoutExpired:
            self.kill()
            return "hang"
        return f"signal:{signal.Signals(-code).name}" if code < 0 else f"exit:{code}"

    def peak_rss_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0.0
        peak = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(peak[0].split()[1]) / 1024 if peak else 0.0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


def plan(mutants: int, seed: int) -> list[tuple[str, str, int]]:
    """``(seed file, kind, index)`` for every mutant: kinds and seed files in turn, so any prefix is balanced."""
    names = sorted(seeds_cache())
    return [(names[(i // len(KINDS)) % len(names)], KINDS[i % len(KINDS)], seed * 1_000_003 + i)
            for i in range(mutants)]


_SEEDS: dict[str, bytes] = {}


def seeds_cache() -> dict[str, bytes]:
    if not _SEEDS:
        _SEEDS.update(seeds())
    return _SEEDS


def fuzz(mutants: int, model: str, *, seed: int = 0, entries: tuple[str, ...] = ENTRIES, timeout: float = 20.0,
         save: Path | None = None, progress: bool = False) -> Report:
    """Run ``mutants`` mutants through ``entries`` and return the report."""
    from PIL import Image

    report, start = Report(entries=entries), time.monotonic()
    corpus = seeds_cache()
    with tempfile.TemporaryDirectory(prefix="edgeml-imagefuzz-") as tmp:
        work, folder = Path(tmp) / "mutants", Path(tmp) / "stream"
        work.mkdir()
        folder.mkdir()
        from skimage import data

        Image.fromarray(data.chelsea()).resize((96, 64)).save(folder / "0_before.png")
        Image.fromarray(data.coffee()).resize((96, 64)).save(folder / "2_after.png")
        with open(Path(tmp) / "worker-stderr.txt", "w+b") as log:
            worker = Worker(model, folder, log)
            report.worker_starts = 1
            for n, (name, kind, index) in enumerate(plan(mutants, seed)):
                mutated = mutate(corpus[name], kind, random.Random(f"{name}:{kind}:{index}"))
                path = work / f"{kind}-{index}-{name}"
                path.write_bytes(mutated)
                mutant = {"seed": name, "kind": kind, "index": index, "size": len(mutated)}
                answer = worker.ask({"id": n, "path": str(path), "entries": list(entries)}, timeout)
                if isinstance(answer, str):  # died or hung: retry entry by entry to attribute it
                    answers: dict[str, Any] = {}
                    for entry in entries:
                        worker = Worker(model, folder, log)
                        report.worker_starts += 1
                        one = worker.ask({"id": n, "path": str(path), "entries": [entry]}, timeout)
                        answers[entry] = one[entry] if isinstance(one, dict) else _crash(one)
                        if isinstance(one, str):
                            worker = Worker(model, folder, log)
                            report.worker_starts += 1
                    answer = answers
                failed_before = len(report.failures)
                for entry in entries:
                    report.add(kind, Path(name).suffix.lstrip("."), entry, answer[entry], mutant)
                if save is not None and len(report.failures) > failed_before:
                    save.mkdir(parents=True, exist_ok=True)
                    (save / path.name).write_bytes(mutated)
                path.unlink()
                report.mutants += 1
                report.seconds = time.monotonic() - start
                if progress and (n + 1) % 250 == 0:
                    print(f"  {n + 1}/{mutants}  {report.summary()}", file=sys.stderr, flush=True)
                if n % 50 == 0:
                    report.peak_rss_mb = max(report.peak_rss_mb, worker.peak_rss_mb())
            report.peak_rss_mb = max(report.peak_rss_mb, worker.peak_rss_mb())
            worker.close()
    report.seconds = time.monotonic() - start
    return report


def _cause(message: str) -> str:
    """A short name for what an EdgemlError said: ``could not be decoded: SyntaxError``, ``above edgeml's cap``."""
    decoded = re.search(r"could not be decoded \((\w+)", message)
    if decoded:
        return f"could not be decoded: {decoded.group(1)}"
    for words in ("above edgeml's cap", "above Pillow's decompression-bomb limit", "is not an image edgeml reads",
                  "is empty", "has no pixels"):
        if words in message:
            return words
    return message[:60]


def _crash(what: str) -> dict[str, Any]:
    kind = "hang" if what == "hang" else "signal"
    return {"outcome": kind, "type": what, "message": what, "one_line": True, "length": 0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.imagefuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--mutants", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="another seed, other mutants (default: 0)")
    p.add_argument("--model", default=str(ROOT / "tests" / "data" / "tiny_int8.tflite"))
    p.add_argument("--entries", default=",".join(ENTRIES), help="comma-separated: classify, stream, cli")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds before a mutant counts as a hang")
    p.add_argument("--save", type=Path, default=None, help="write the mutants that failed here")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    args = p.parse_args(argv)
    report = fuzz(args.mutants, args.model, seed=args.seed, entries=tuple(args.entries.split(",")),
                  timeout=args.timeout, save=args.save, progress=True)
    print(report.table())
    print(report.summary())
    print("EdgemlErrors of the classify entry, by cause:")
    for cause, n in report.causes.most_common(15):
        print(f"  {n:6d}  {cause}")
    for failure in report.failures[:20]:
        print("FAILED", json.dumps(failure))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": report.summary(), "failures": report.failures,
                                         "counts": {f"{k}/{e}": dict(c) for (k, e), c in report.counts.items()}}))
    bad = sum(report.total(o) for o in ("other", "signal", "hang", "bad_message"))
    return 1 if bad else 0
