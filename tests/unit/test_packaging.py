"""Packaging: every package directory is installed, and the runtime's dependencies stay device-sized."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _packages_on_disk(folder: str, name: str) -> set[str]:
    base = ROOT / folder
    return {
        ".".join([name, *p.parent.relative_to(base).parts]) for p in base.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }


def test_every_package_directory_is_listed_in_pyproject():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = (_packages_on_disk("edgeml", "edgeml") | _packages_on_disk("converters", "edgeml_converters")
               | _packages_on_disk("boards", "edgeml.boards_data"))
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == set()


def test_runtime_dependencies_are_numpy_pillow_and_litert_only():
    names = {d.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
             for d in PYPROJECT["project"]["dependencies"]}
    assert names - {"tomli"} == {"numpy", "pillow", "ai-edge-litert", "ml-dtypes"}
    assert not any("tensorflow" in d for d in PYPROJECT["project"]["dependencies"])


def _installed_dist():
    """The edgeml distribution in site-packages (not an egg-info a source build may leave in the checkout)."""
    import importlib.metadata
    import site

    return next(iter(importlib.metadata.distributions(name="edgeml", path=site.getsitepackages())), None)


def _editable(dist) -> bool:
    import json

    text = dist.read_text("direct_url.json") or "{}"
    return bool(json.loads(text).get("dir_info", {}).get("editable"))


def test_board_profiles_are_installed_with_the_runtime():
    """A non-editable `pip install .` (make test-bookworm, test-lowest) carries boards/*.toml as edgeml/boards_data/."""
    import pytest

    from edgeml.boards.profiles import BoardProfile

    dist = _installed_dist()
    if dist is None or _editable(dist):
        pytest.skip("editable install maps edgeml.boards_data to boards/; make test-bookworm checks a real install")
    installed = {Path(str(f)).name for f in dist.files or () if str(f).startswith("edgeml/boards_data/")}
    shipped = {p.name for p in (ROOT / "boards").glob("*.toml")}
    assert shipped and shipped <= installed
    raw = Path(str(dist.locate_file("edgeml/boards_data/rpi-5.toml"))).read_text()
    assert BoardProfile.from_dict(tomllib.loads(raw)).lores_format == "RGB888"


def test_wheel_contains_board_profiles(tmp_path):
    """The built wheel holds every boards/*.toml under edgeml/boards_data/."""
    import importlib.util
    import shutil
    import subprocess
    import zipfile

    import pytest

    if importlib.util.find_spec("wheel") is None or importlib.util.find_spec("setuptools") is None:
        pytest.skip("needs setuptools and wheel to build the wheel offline")
    src = tmp_path / "src"  # build from a copy: setuptools leaves an egg-info behind that would shadow the install
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("edgeml", "converters", "boards"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("edgeml-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"edgeml/boards_data/{p.name}" for p in (ROOT / "boards").glob("*.toml")} <= names
    assert not any(n.startswith("boards/") for n in names)
