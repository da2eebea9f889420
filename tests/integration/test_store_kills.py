"""Power loss: SIGKILL `edgeml models install` and `activate` at any point; the store stays consistent every time.

Each trial copies a store where version 1 is active (and, for activate, version 2 installed), runs the real CLI in a
child process and kills it: at every checkpoint of the transaction (``EDGEML_STORE_KILL_AT``, deterministic) and
after random delays spread over the whole run (signature, hashes, verifier, child-process probe, rename, state,
pointer). After each kill: ``current`` is the previous version or the new one, never anything else; it loads and
classifies; no half-written version is visible; ``models verify`` is clean; and the interrupted command, run again,
succeeds. The default suite kills ~40 times; ``EDGEML_KILLS=N`` (``make test-kills``) runs N random kills.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgeml.inference.classifier import Classifier
from edgeml.store.atomic import KILL_ENV
from edgeml.store.store import ModelStore
from tests.integration.store_kit import ROOT, bundle, cli, signed_store

RANDOM_KILLS = int(os.environ.get("EDGEML_KILLS", "12"))  # per command (install, activate)
INSTALL_STEPS = ["install:unpacked", "install:verified", "install:staged", "install:renamed", "activate:state",
                 "write:synced", "write:renamed", "pointer:temp", "pointer:renamed", "activate:pointer"]
ACTIVATE_STEPS = ["write:synced", "write:renamed", "activate:state", "pointer:temp", "pointer:renamed",
                  "activate:pointer"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kills")
    store, key = signed_store(tmp)
    v1, v2 = bundle(tmp, key, 1), bundle(tmp, key, 2)
    store.install(v1, activate=True)
    installed = tmp / "installed"  # v1 current, v2 installed but not active: what `activate` starts from
    shutil.copytree(store.root, installed, symlinks=True)
    ModelStore(installed).install(v2)
    return store.root, installed, v2


def _run_killed(cmd: list[str], *, delay: float | None = None, step: str | None = None) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if step:
        env[KILL_ENV] = step
    proc = subprocess.Popen([sys.executable, "-m", "edgeml", *cmd], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=120)
    return proc.returncode


def _consistent(root: Path, allowed: set[int]) -> int:
    store = ModelStore(root)
    current = store.current("tiny")
    assert current in allowed, f"current is {current}, expected one of {allowed}"
    assert not [p.name for p in store.folder("tiny").iterdir() if p.name.isdigit() and
                int(p.name) not in store.versions("tiny")]
    problems = [str(f) for f in store.verify() if not f.ok]
    assert not problems, problems
    clf = Classifier("store:tiny", store=root)  # loadable, and it is the version `current` names
    assert clf.identity is not None and clf.identity.version == current
    assert clf.classify(np.zeros((8, 8, 3), np.uint8), top_k=1)
    return current


def _trial(template: Path, tmp: Path, cmd: list[str], allowed: set[int], **kill) -> tuple[int, int]:
    root = tmp / f"s{random.random()}"
    shutil.copytree(template, root, symlinks=True)
    code = _run_killed([*cmd, "--store", str(root)], **kill)
    current = _consistent(root, allowed)
    cli(*cmd, "--store", str(root))  # the interrupted command, run again, finishes the job
    assert ModelStore(root).current("tiny") == 2
    shutil.rmtree(root)
    return code, current


def _install(v2: Path) -> list[str]:
    return ["models", "install", str(v2), "--activate"]


@pytest.mark.parametrize("step", INSTALL_STEPS)
def test_install_killed_at_each_step(base, tmp_path, step):
    code, _ = _trial(base[0], tmp_path, _install(base[2]), {1, 2}, step=step)
    assert code == -signal.SIGKILL, f"{step} was never reached"


@pytest.mark.parametrize("step", ACTIVATE_STEPS)
def test_activate_killed_at_each_step(base, tmp_path, step):
    code, _ = _trial(base[1], tmp_path, ["models", "activate", "tiny", "2"], {1, 2}, step=step)
    assert code == -signal.SIGKILL, f"{step} was never reached"


def _full_run_s(template: Path, tmp: Path, cmd: list[str]) -> float:
    root = tmp / "timing"
    shutil.copytree(template, root, symlinks=True)
    t0 = time.perf_counter()
    cli(*cmd, "--store", str(root))
    shutil.rmtree(root)
    return time.perf_counter() - t0


@pytest.mark.parametrize("which", ["install", "activate"])
def test_killed_at_random_points(base, tmp_path, which):
    cmd = _install(base[2]) if which == "install" else ["models", "activate", "tiny", "2"]
    template = base[0] if which == "install" else base[1]
    full = _full_run_s(template, tmp_path, cmd)
    rng = random.Random(int(os.environ.get("EDGEML_KILL_SEED", "18")))
    outcomes = {1: 0, 2: 0}
    killed = 0
    for k in range(RANDOM_KILLS):
        # Half over the whole run (Python start-up included), half over its last 40% (the checks and the commit).
        delay = rng.uniform(0.0, full * 1.1) if k % 2 else rng.uniform(full * 0.6, full * 1.05)
        code, current = _trial(template, tmp_path, cmd, {1, 2}, delay=delay)
        outcomes[current] += 1
        killed += code == -signal.SIGKILL
    print(f"{which}: {RANDOM_KILLS} runs over {full:.2f} s, {killed} killed, after the kill current = {outcomes}")
    assert killed >= RANDOM_KILLS // 2, "most delays should land inside the run"
