"""``edgeml doctor``'s system-numpy check: site directories laid out as Debian / Raspberry Pi OS lay them out
(file names of python3-numpy, python3-opencv, python3-picamera2, python3-simplejpeg), read without importing, and
the decision for each numpy mix-up a Pi user meets."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgeml.doctor.system_numpy import (
    StackFacts,
    SystemSite,
    read_stack_facts,
    read_system_site,
    system_numpy_findings,
    system_site_dirs,
)

SYS = "/usr/lib/python3/dist-packages"
VENV = "/home/pi/edgeml-venv"
VENV_SITE = f"{VENV}/lib/python3.11/site-packages"


def _bookworm_site(root: Path, *, numpy: str | None = "1.24.2", cv2: bool = True, camera: bool = True) -> Path:
    """A dist-packages folder with the files apt installs (Debian 12 names; egg-info, as Debian ships numpy)."""
    site = root / "usr/lib/python3/dist-packages"
    site.mkdir(parents=True)
    if numpy:
        (site / "numpy").mkdir()
        (site / "numpy/__init__.py").write_text("")
        (site / f"numpy-{numpy}.egg-info").mkdir()
        pkg_info = f"Metadata-Version: 2.1\nName: numpy\nVersion: {numpy}\n"
        (site / f"numpy-{numpy}.egg-info/PKG-INFO").write_text(pkg_info)
    if cv2:
        (site / "cv2.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    if camera:
        (site / "picamera2").mkdir()
        (site / "picamera2/__init__.py").write_text("")
        (site / "simplejpeg.cpython-311-aarch64-linux-gnu.so").write_bytes(b"\x7fELF")
    return site


def test_reads_a_bookworm_site_by_its_file_names(tmp_path):
    site = read_system_site(_bookworm_site(tmp_path))
    assert site.numpy_version == "1.24.2" and site.numpy_path.endswith("dist-packages/numpy")
    assert site.modules == ("picamera2", "simplejpeg", "cv2")


def test_reads_numpy_version_without_metadata(tmp_path):
    """numpy 1.x's versioneer blob and 2.x's version.py both give the version when no egg-info is there."""
    site = _bookworm_site(tmp_path, numpy=None, camera=False)
    (site / "numpy").mkdir()
    (site / "numpy/__init__.py").write_text("")
    (site / "numpy/_version.py").write_text('version_json = \'\'\'\n{\n "date": "2023-02-05",\n'
                                            ' "version": "1.24.2"\n}\n\'\'\'\n')
    assert read_system_site(site).numpy_version == "1.24.2"
    (site / "numpy/version.py").write_text('version = "2.2.4"\n__version__ = version\n')
    assert read_system_site(site).numpy_version == "2.2.4"


def test_an_empty_site_holds_nothing(tmp_path):
    site = read_system_site(tmp_path)
    assert site == SystemSite(str(tmp_path))


def _facts(numpy: str, numpy_path: str, *, system_numpy: str | None = "1.24.2",
           modules: tuple[str, ...] = ("picamera2", "simplejpeg", "cv2"), origins: dict | None = None,
           pip_opencv: tuple = (), venv: str | None = VENV) -> StackFacts:
    system = SystemSite(SYS, system_numpy, f"{SYS}/numpy" if system_numpy else None, modules)
    default = {m: f"{SYS}/{m}/__init__.py" if m == "picamera2" else f"{SYS}/{m}.cpython-311-aarch64-linux-gnu.so"
               for m in modules}
    return StackFacts(numpy, numpy_path, searched=("/usr/local/lib/python3.11/dist-packages", SYS), system=system,
                      origins=tuple((origins or default).items()), pip_opencv=pip_opencv, venv=venv)


def _one(facts: StackFacts):
    findings = system_numpy_findings(facts)
    assert findings[0].check == "system-numpy"
    return findings[0]


def test_pip_numpy_2_over_bookworm_apt_is_a_fail_that_names_the_fix():
    """The reported failure: ``pip install edgeml`` put numpy 2 into a --system-site-packages venv."""
    f = _one(_facts("2.4.6", f"{VENV_SITE}/numpy"))
    assert f.status == "fail"
    assert "numpy 2.4.6" in f.message and "system's numpy 1.24.2" in f.message
    assert "_ARRAY_API not found" in f.message and "numpy.dtype size changed" in f.message
    assert "python3-picamera2, python3-simplejpeg, python3-opencv were built against" in f.message
    assert f"{VENV}/bin/pip uninstall -y numpy" in f.fix and "--system-site-packages" in f.fix
    assert dict(f.details)["system_numpy"] == "1.24.2" and f.to_dict()["numpy"] == "2.4.6"


def test_the_systems_own_numpy_is_ok():
    f = _one(_facts("1.24.2", f"{SYS}/numpy"))
    assert f.status == "ok" and not f.fix and "is the system's" in f.message


@pytest.mark.parametrize(("used", "status"), [("1.24.2", "ok"),   # a second copy of the same release
                                              ("1.26.4", "warn"),  # newer 1.x: numpy's ABI promise holds
                                              ("1.23.5", "fail"),  # older than built against
                                              ("2.0.0", "fail")])
def test_a_venv_numpy_against_bookworm_apt(used, status):
    f = _one(_facts(used, f"{VENV_SITE}/numpy"))
    assert f.status == status, f.message
    assert (f.fix == "") == (status == "ok")


@pytest.mark.parametrize(("used", "status"), [("1.26.4", "fail"),   # numpy 1 under modules built for numpy 2
                                              ("2.1.3", "warn"),    # imports: numpy 2 builds target an older API
                                              ("2.3.0", "warn"),
                                              ("2.2.4", "ok")])
def test_a_venv_numpy_against_trixie_apt(used, status):
    """Trixie's apt numpy is 2.2.4; Debian 13's cv2 was seen importing under pip's numpy 2.1.3 (make test-trixie's
    root), so an older 2.x is a warning, not a fail; numpy 1.x is a fail."""
    f = _one(_facts(used, f"{VENV_SITE}/numpy", system_numpy="2.2.4"))
    assert f.status == status, f.message
    assert status == "ok" or "system's numpy 2.2.4" in f.message


def test_pip_numpy_under_usr_local_on_the_system_python():
    """``sudo pip install --break-system-packages`` numpy puts it in /usr/local, ahead of apt's."""
    f = _one(_facts("2.1.0", "/usr/local/lib/python3.11/dist-packages/numpy", venv=None))
    assert f.status == "fail" and "python3 -m pip uninstall numpy" in f.fix


def test_nothing_built_against_numpy_is_ok():
    f = _one(replace(_facts("2.4.6", f"{VENV_SITE}/numpy"), system=None, origins=()))
    assert f.status == "ok" and "no system packages built against numpy" in f.message
    f = _one(StackFacts("2.4.6", f"{VENV_SITE}/numpy", venv=VENV))
    assert f.status == "ok" and "does not include system site-packages" in f.message


def test_apt_modules_without_apt_numpy_warn():
    f = _one(_facts("2.4.6", f"{VENV_SITE}/numpy", system_numpy=None))
    assert f.status == "warn" and "apt install --reinstall python3-numpy" in f.fix


def test_pip_opencv_shadowing_apt_opencv_warns_and_clears_numpy_for_cv2():
    """``pip install edgeml[opencv]`` on a Pi: cv2 now loads from the venv (with its own numpy 2 build)."""
    origins = {"cv2": f"{VENV_SITE}/cv2/__init__.py"}
    facts = _facts("2.4.6", f"{VENV_SITE}/numpy", modules=("cv2",), origins=origins,
                   pip_opencv=(("opencv-python-headless", "4.12.0.88", VENV_SITE),))
    numpy, opencv = system_numpy_findings(facts)
    assert numpy.status == "ok" and "no system module built against it is imported" in numpy.message
    assert opencv.check == "system-opencv" and opencv.status == "warn"
    assert "opencv-python-headless 4.12.0.88" in opencv.message
    assert opencv.fix.startswith(f"{VENV}/bin/pip uninstall -y opencv-python-headless")


def test_apt_opencv_loaded_gives_no_opencv_finding():
    assert [f.check for f in system_numpy_findings(_facts("1.24.2", f"{SYS}/numpy"))] == ["system-numpy"]


def test_this_interpreter_is_read_as_it_is():
    """The running Python: its numpy is the one imported; the site dirs it sees are on sys.path."""
    facts = read_stack_facts()
    assert facts.numpy_version == np.__version__
    assert facts.numpy_path == os.path.realpath(os.path.dirname(np.__file__))
    assert facts.venv == (sys.prefix if sys.prefix != sys.base_prefix else None)
    real_path = {os.path.realpath(p) for p in sys.path if p}
    assert set(system_site_dirs()) <= real_path
    assert all(f.status in ("ok", "warn", "fail") for f in system_numpy_findings(facts))
