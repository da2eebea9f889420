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
    assert names - {"tomli"} == {"numpy", "pillow", "ai-edge-litert"}
    assert not any("tensorflow" in d for d in PYPROJECT["project"]["dependencies"])
