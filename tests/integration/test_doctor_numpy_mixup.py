"""``edgeml doctor`` on a real numpy mix-up: the system python3 with apt's numpy 1.x and OpenCV, a venv made with
``--system-site-packages`` as the README says, and pip's numpy 2 put into it (what ``pip install edgeml`` did before
ml_dtypes was bounded). The finding must be a fail that names the fix, and it must be right: in that venv apt's
cv2 really does not import. The same venv without the pip numpy is ok, and cv2 imports there.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"


def _probe() -> tuple[str | None, str]:
    """(why the tests cannot run here or None, the system numpy's version): they need the system python3 with
    apt's numpy and OpenCV (cv2 in /usr/lib/python3) and venv."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"needs {SYSTEM_PYTHON}", ""
    probe = subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import numpy, cv2; print(numpy.__version__, cv2.__file__)"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return "needs apt's python3-numpy and python3-opencv (make system-deps)", ""
    version, cv2_file = probe.stdout.split()
    if not cv2_file.startswith("/usr/lib/python3/"):
        return f"needs apt's OpenCV in /usr/lib/python3; found {cv2_file}", version
    if subprocess.run([SYSTEM_PYTHON, "-c", "import venv, ensurepip"], capture_output=True, timeout=60).returncode:
        return "needs python3-venv", version
    return None, version


WHY, SYSTEM_NUMPY = _probe()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY is not None, reason=WHY or "")]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pi") / "edgeml-venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(path)], check=True, timeout=300)
    return path


def _doctor(venv: Path) -> tuple[int, dict[str, dict], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VIRTUAL_ENV", None)
    as_json = subprocess.run([str(venv / "bin/python"), "-m", "edgeml", "doctor", "--json"], capture_output=True,
                             text=True, timeout=300, env=env, cwd=REPO)
    text = subprocess.run([str(venv / "bin/python"), "-m", "edgeml", "doctor"], capture_output=True, text=True,
                          timeout=300, env=env, cwd=REPO)
    findings = {}
    for line in as_json.stdout.splitlines():
        f = json.loads(line)
        findings.setdefault(f["check"], f)
    return as_json.returncode, findings, text.stdout


def _imports_cv2(venv: Path) -> bool:
    return subprocess.run([str(venv / "bin/python"), "-c", "import cv2"], capture_output=True,
                          timeout=120).returncode == 0


@pytest.mark.skipif(not SYSTEM_NUMPY.startswith("1."), reason=f"needs apt numpy 1.x (Bookworm); found {SYSTEM_NUMPY}")
def test_good_venv_then_pip_numpy_2(venv):
    _, findings, text = _doctor(venv)
    good = findings["system-numpy"]
    assert good["status"] == "ok" and good["numpy_path"].startswith("/usr/lib/python3/"), good
    assert "system-opencv" not in findings and "[FAIL] system-numpy" not in text
    assert _imports_cv2(venv)

    pip = subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "numpy>=2,<3"], capture_output=True,
                         text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"pip could not install numpy 2 (no index?): {pip.stderr[-300:]}")
    assert not _imports_cv2(venv), "apt's cv2 imported under pip's numpy 2: the mix-up this test needs did not happen"
    code, findings, text = _doctor(venv)
    bad = findings["system-numpy"]
    assert bad["status"] == "fail" and bad["numpy"].startswith("2."), bad
    assert bad["numpy_path"].startswith(str(venv)) and bad["system_numpy"].startswith("1.")
    assert "_ARRAY_API not found" in bad["message"] and "python3-opencv" in bad["message"]
    assert f"{venv}/bin/pip uninstall -y numpy" in bad["fix"]
    assert code == 1
    assert "[FAIL] system-numpy" in text and "fix:" in text

    # The fix it names works: after it, cv2 imports again and the finding is ok.
    subprocess.run([str(venv / "bin/pip"), "uninstall", "-y", "--quiet", "numpy"], check=True, timeout=300)
    assert _imports_cv2(venv)
    assert _doctor(venv)[1]["system-numpy"]["status"] == "ok"



@pytest.mark.skipif(not SYSTEM_NUMPY.startswith("2.") or SYSTEM_NUMPY.startswith(("2.0.", "2.1.")),
                    reason=f"needs apt numpy 2.2+ (Trixie); found {SYSTEM_NUMPY}")
def test_older_pip_numpy_2_under_trixie_apt_is_a_warning(venv):
    """Trixie: modules built against apt's numpy 2.x import under an older pip numpy 2.x; doctor says warn."""
    pip = subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--only-binary=:all:", "numpy>=2.1,<2.2"],
                         capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"pip could not install numpy 2.1 (no index?): {pip.stderr[-300:]}")
    try:
        assert _imports_cv2(venv)
        _, findings, text = _doctor(venv)
        f = findings["system-numpy"]
        assert "[WARN] system-numpy" in text
        assert f["status"] == "warn" and f["numpy"].startswith("2.1.") and f["system_numpy"] == SYSTEM_NUMPY, f
        assert f"{venv}/bin/pip uninstall -y numpy" in f["fix"]
    finally:
        subprocess.run([str(venv / "bin/pip"), "uninstall", "-y", "--quiet", "numpy"], check=True, timeout=300)
