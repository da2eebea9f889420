"""The runtime suite on every Python and library range edgeml declares (``make test-pythons``, ``make test-lowest``).

Each session is a fresh venv with the wheel built from this checkout (``make wheel``), the device extras, pinned or
newest numpy / Pillow / OpenCV, then ``pytest tests/unit tests/integration``. The Raspberry Pi OS stacks (apt's
numpy, Pillow and OpenCV under the system Python) are ``tests/platforms/``; these sessions cover the pip ranges:

- ``lowest``: Python 3.10 with the lowest versions pyproject.toml declares (numpy 1.23.2, Pillow 9.1.0) and the
  oldest OpenCV 4.5 with wheels for it (4.5.5; Bullseye's apt 4.5.1 runs on Python 3.9, below our range).
- ``newest-3.12``, ``newest-3.13``: the newest releases pip finds, with OpenCV.
- ``no_opencv-3.12``: the device install without OpenCV (numpy resizing, video sources refused with the fix).

Venvs are kept in ``build/nox`` and reused; the interpreters come from PATH (``make`` adds pyenv's).
"""

from __future__ import annotations

import glob
import os

import nox

nox.options.envdir = "build/nox"
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lowest", "newest", "no_opencv"]

EXTRAS = "store,mqtt,serve"
TEST_TOOLS = ["pytest", "scikit-image", "httpx", "selenium"]
LOWEST = {"numpy": "1.23.2", "Pillow": "9.1.0", "opencv-python-headless": "4.5.5.64"}


def _wheel() -> str:
    wheels = sorted(glob.glob("build/dist/edgeml-*.whl"), key=os.path.getmtime)
    if not wheels:
        raise SystemExit("no wheel in build/dist: run `make wheel` first (make test-pythons does)")
    return os.path.abspath(wheels[-1])


def _suite(session: nox.Session, *, pins: dict[str, str] | None = None, opencv: bool = True) -> None:
    """Install the wheel (+ OpenCV) under ``pins``, check what got installed, run the runtime suite."""
    constraints = []
    if pins:
        # Not session.create_tmp(): it sets TMPDIR for the tests too, and they must see the machine's /tmp.
        path = os.path.abspath(os.path.join("build", "nox", f"constraints-{session.name}.txt"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("".join(f"{name}=={version}\n" for name, version in pins.items()))
        constraints = ["-c", path]
    packages = [f"edgeml[{EXTRAS}] @ file://{_wheel()}", *TEST_TOOLS]
    if opencv:
        packages.append("opencv-python-headless")
    session.install("--force-reinstall", "--no-deps", _wheel())  # a reused venv takes the new build
    session.install(*constraints, *packages)
    if not opencv:
        session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", "opencv-python-headless",
                    "opencv-python", success_codes=[0, 1])
    # Say what ran, and fail when the pins did not hold (a test on the wrong versions proves nothing).
    session.run("python", "tests/platforms/versions.py", *[f"--pin={n}=={v}" for n, v in (pins or {}).items()],
                *([] if opencv else ["--no-opencv"]))
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", "tests/integration",
                *session.posargs)


@nox.session(python="3.10")
def lowest(session: nox.Session) -> None:
    """Python 3.10 with numpy 1.23.2, Pillow 9.1.0 and OpenCV 4.5.5: the floor of what we declare."""
    _suite(session, pins=LOWEST)


@nox.session(python=["3.12", "3.13"])
def newest(session: nox.Session) -> None:
    """The newest numpy, Pillow and OpenCV pip finds, on Python 3.12 and 3.13."""
    _suite(session)


@nox.session(python="3.12")
def no_opencv(session: nox.Session) -> None:
    """The device install without OpenCV: numpy resizing; video sources refused with the install hint."""
    _suite(session, opencv=False)
