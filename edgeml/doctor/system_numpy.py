"""The ``system-numpy`` and ``system-opencv`` checks: a venv must use the numpy apt's binary modules were built for.

On Raspberry Pi OS, picamera2, simplejpeg and OpenCV come from apt (``python3-picamera2``, ``python3-simplejpeg``,
``python3-opencv``), compiled against apt's ``python3-numpy`` (1.24.2 on Bookworm, 2.x on Trixie). A venv made with
``--system-site-packages`` sees them; when pip puts another numpy into the venv, ``import cv2`` fails
(``_ARRAY_API not found``, ``numpy.core.multiarray failed to import``) and picamera2 / simplejpeg fail
(``numpy.dtype size changed``) -- raspberrypi/picamera2 issues 1088, 1170, 1211.

Nothing here imports cv2, picamera2 or simplejpeg (a broken binary module can raise or crash on import): the
system site directory is *read* (file names, metadata) and modules are *located* (``importlib.util.find_spec``).

- :func:`system_numpy_findings`: the decision, a pure function over :class:`StackFacts`;
- :func:`system_site_dirs`, :func:`read_system_site`, :func:`read_stack_facts`: this interpreter's facts;
- :func:`check_system_numpy`: both, for :func:`edgeml.doctor.run_checks`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import site
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np

from edgeml.doctor.finding import Finding
from edgeml.hardware import read_text

__all__ = ["NUMPY_MODULES", "StackFacts", "SystemSite", "check_system_numpy", "read_stack_facts",
           "read_system_site", "system_numpy_findings", "system_site_dirs"]

# Top-level modules that apt builds against apt's numpy, and the package each comes from. picamera2 itself is pure
# Python, but it imports simplejpeg (and numpy) on import, so it breaks with it.
NUMPY_MODULES = {"picamera2": "python3-picamera2", "simplejpeg": "python3-simplejpeg", "cv2": "python3-opencv"}
OPENCV_DISTS = ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless")
README_INSTALL = 'pip install "edgeml[store,mqtt,serve]"'
_VERSION_RE = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)
_VERSION_PY_RE = re.compile(r"""^\s*(?:version\s*=\s*|"version":\s*)["']([^"']+)["']""", re.MULTILINE)


@dataclass(frozen=True)
class SystemSite:
    """What one system site directory holds, read from its files.

    Attributes:
        path: The directory (``/usr/lib/python3/dist-packages`` on Debian and Raspberry Pi OS).
        numpy_version: The version of the numpy package in it; None when it holds no numpy.
        numpy_path: That numpy's package directory; None when it holds no numpy.
        modules: The :data:`NUMPY_MODULES` present in it, in that order.
    """

    path: str
    numpy_version: str | None = None
    numpy_path: str | None = None
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackFacts:
    """The numpy this Python uses and the system packages built against numpy that it sees.

    Attributes:
        numpy_version: ``numpy.__version__`` of the numpy this process imported.
        numpy_path: Its package directory (the folder of ``numpy.__file__``).
        searched: The base interpreter's site directories this Python sees (empty in a venv made without
            ``--system-site-packages``).
        system: The first of them that holds one of :data:`NUMPY_MODULES`; None when none does.
        origins: For each module in ``system.modules``, the file ``import`` would load it from (None if unknown).
        pip_opencv: OpenCV distributions installed outside ``system.path``: ``(name, version, site directory)``.
        venv: ``sys.prefix`` when this Python runs in a venv, else None.
    """

    numpy_version: str
    numpy_path: str
    searched: tuple[str, ...] = ()
    system: SystemSite | None = None
    origins: tuple[tuple[str, str | None], ...] = ()
    pip_opencv: tuple[tuple[str, str, str], ...] = ()
    venv: str | None = None


def _inside(path: str | None, directory: str) -> bool:
    return path is not None and PurePath(path).is_relative_to(directory)


def _release(version: str) -> tuple[int, ...]:
    """``"1.24.2"`` -> ``(1, 24, 2)``; ``"2.0.0rc1"`` -> ``(2, 0, 0)``: the numeric release, enough for ABI rules."""
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def _were(names: Sequence[str]) -> str:
    return f"{', '.join(names)} {'was' if len(names) == 1 else 'were'}"


def _breakage(system_version: str, used_version: str, modules: Sequence[str]) -> str:
    """What the user sees when the modules built for ``system_version`` meet ``used_version``."""
    if _release(system_version)[:1] == (1,) and _release(used_version)[:1] >= (2,):
        seen = {"cv2": "import cv2 fails (_ARRAY_API not found, numpy.core.multiarray failed to import)",
                "simplejpeg": "simplejpeg fails (numpy.dtype size changed, may indicate binary incompatibility)",
                "picamera2": "picamera2 fails with it"}
        return "; ".join(seen[m] for m in modules)
    return f"importing {', '.join(modules)} fails or crashes"


def _numpy_fix(f: StackFacts, system_version: str) -> str:
    if f.venv:
        pip = f"{f.venv}/bin/pip"
        return (f"{pip} uninstall -y numpy, then {pip} install edgeml again (edgeml bounds ml_dtypes below 0.6, so "
                f"pip keeps the system's numpy {system_version}); or recreate the venv: python3 -m venv --clear "
                f"--system-site-packages {f.venv}, then the README's install line: {pip} "
                f"{README_INSTALL.removeprefix('pip ')}")
    return (f"Remove the numpy at {f.numpy_path}: python3 -m pip uninstall numpy (with sudo if it is under "
            "/usr/local; Bookworm's pip also needs --break-system-packages); pip-install into a venv made with "
            "python3 -m venv --system-site-packages instead")


def _numpy_finding(f: StackFacts) -> Finding:
    used = f"numpy {f.numpy_version} ({f.numpy_path})"
    sysdir = f.system
    if sysdir is None or not sysdir.modules:
        if f.venv and not f.searched:
            why = "this venv does not include system site-packages"
        else:
            why = f"none in {', '.join(f.searched)}" if f.searched else "no system site directory"
        return Finding("system-numpy", "ok", f"{used}; no system packages built against numpy ({why})",
                       details=(("numpy", f.numpy_version), ("numpy_path", f.numpy_path), ("system_site", None)))
    apt = [NUMPY_MODULES[m] for m in sysdir.modules]
    details = (("numpy", f.numpy_version), ("numpy_path", f.numpy_path), ("system_site", sysdir.path),
               ("system_numpy", sysdir.numpy_version), ("system_numpy_path", sysdir.numpy_path),
               ("system_modules", list(sysdir.modules)))
    if sysdir.numpy_version is None:
        return Finding("system-numpy", "warn", f"{', '.join(apt)} in {sysdir.path} but no numpy beside them: "
                       f"cannot tell which numpy they were built against; {used} is used",
                       "sudo apt install --reinstall python3-numpy", details)
    if _inside(f.numpy_path, sysdir.path):
        return Finding("system-numpy", "ok", f"{used} is the system's, the one {_were(apt)} built against",
                       details=details)
    origins = dict(f.origins)
    loaded = [m for m in sysdir.modules if _inside(origins.get(m), sysdir.path)]
    system = f"the system's numpy {sysdir.numpy_version} ({sysdir.numpy_path})"
    if not loaded:
        return Finding("system-numpy", "ok", f"{used} shadows {system}, but no system module built against it is "
                       f"imported: {', '.join(sysdir.modules)} load from elsewhere", details=details)
    if f.numpy_version == sysdir.numpy_version:
        return Finding("system-numpy", "ok", f"{used} shadows {system} at the same version, the one "
                       f"{_were([NUMPY_MODULES[m] for m in loaded])} built against", details=details)
    old, new = _release(sysdir.numpy_version), _release(f.numpy_version)
    text = f"{used} shadows {system}, which {_were([NUMPY_MODULES[m] for m in loaded])} built against"
    if old[:1] == new[:1] and new > old:
        # numpy's ABI promise: a module built against an older release of the same major version runs on newer.
        return Finding("system-numpy", "warn", f"{text}: numpy {new[0]}.x runs modules built against an older "
                       f"{new[0]}.x, so they should import, but this environment has two numpys",
                       _numpy_fix(f, sysdir.numpy_version), details)
    if old[:1] == new[:1] == (2,):
        # numpy 2 builds target an older C API by default, so they also run on an older 2.x (seen: Debian 13's cv2,
        # built against its numpy 2.2.4, imports under pip's 2.1.3). numpy 1.x builds do not: the older fails.
        return Finding("system-numpy", "warn", f"{text}: modules built against numpy 2 target an older numpy "
                       "2 API by default, so they should import, but this environment has two numpys",
                       _numpy_fix(f, sysdir.numpy_version), details)
    return Finding("system-numpy", "fail", f"{text}: {_breakage(sysdir.numpy_version, f.numpy_version, loaded)}",
                   _numpy_fix(f, sysdir.numpy_version), details)


def _opencv_finding(f: StackFacts) -> Finding | None:
    """A pip OpenCV that shadows apt's python3-opencv (None when apt's cv2 is not there or is the one imported)."""
    if f.system is None or "cv2" not in f.system.modules:
        return None
    origin = dict(f.origins).get("cv2")
    if origin is None or _inside(origin, f.system.path):
        return None
    dists = [d for d in f.pip_opencv if _inside(origin, d[2])] or list(f.pip_opencv)
    pip = f"{f.venv}/bin/pip" if f.venv else "python3 -m pip"
    if dists:
        name, version, _ = dists[0]
        what, fix = f"{name} {version} ({origin})", f"{pip} uninstall -y {' '.join(d[0] for d in dists)}"
    else:
        what, fix = f"a cv2 at {origin}", f"Remove {origin}"
    return Finding("system-opencv", "warn", f"{what} shadows apt's python3-opencv in {f.system.path}: import cv2 "
                   "loads the pip build", f"{fix} (apt's OpenCV is used when it imports; edgeml[opencv] is for "
                   "pip-only installs)", (("cv2_path", origin), ("system_site", f.system.path)))


def system_numpy_findings(facts: StackFacts) -> list[Finding]:
    """Decide whether this Python's numpy matches the one the system's numpy-built modules were compiled for.

    Returns:
        One ``system-numpy`` finding: ``fail`` when another numpy shadows the system's while apt's modules still
        load from the system and that numpy cannot run them (another major version, or an older 1.x); ``warn``
        when it can (a newer release of the same major version, an older 2.x) or no numpy is beside the modules;
        else ``ok``. Then a ``system-opencv`` ``warn`` when a pip OpenCV
        shadows apt's.
    """
    out = [_numpy_finding(facts)]
    opencv = _opencv_finding(facts)
    if opencv:
        out.append(opencv)
    return out


def system_site_dirs() -> tuple[str, ...]:
    """The base interpreter's site directories that this Python sees, in ``sys.path`` order.

    In a venv made with ``--system-site-packages`` (and in the system Python itself) that is
    ``/usr/local/lib/python3.X/dist-packages`` and ``/usr/lib/python3/dist-packages`` on Debian; in a venv made
    without it, none.
    """
    base = {os.path.realpath(p) for p in site.getsitepackages([sys.base_prefix])}
    seen: list[str] = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real in base and real not in seen:
            seen.append(real)
    return tuple(seen)


def _metadata_version(folder: Path, dist: str) -> str | None:
    """A distribution's version from its ``.dist-info``/``.egg-info`` in ``folder`` (Debian ships egg-info)."""
    for info in sorted(folder.glob(f"{dist}-*.dist-info")) + sorted(folder.glob(f"{dist}-*.egg-info")):
        for name in ("METADATA", "PKG-INFO"):
            text = read_text(info / name) if info.is_dir() else (read_text(info) if name == "PKG-INFO" else None)
            found = _VERSION_RE.search(text or "")
            if found:
                return found.group(1)
        # The folder's name carries the version too: numpy-1.24.2.egg-info
        stem = info.name.rsplit(".", 1)[0].removeprefix(f"{dist}-")
        if stem and stem[0].isdigit():
            return stem.split("-")[0]
    return None


def _numpy_version_in(package: Path) -> str | None:
    """numpy's version from its own files: ``version.py`` (2.x) or the versioneer blob ``_version.py`` (1.x)."""
    for name in ("version.py", "_version.py"):
        found = _VERSION_PY_RE.search(read_text(package / name) or "")
        if found:
            return found.group(1)
    return None


def _has_module(folder: Path, name: str) -> bool:
    """A top-level package ``name/`` or extension module ``name.cpython-*.so`` / ``name.abi3.so`` in ``folder``."""
    return (folder / name / "__init__.py").is_file() or any(folder.glob(f"{name}.*.so")) or \
        (folder / f"{name}.so").is_file()


def read_system_site(path: str | os.PathLike[str]) -> SystemSite:
    """Read one site directory's numpy version and which :data:`NUMPY_MODULES` it holds, without importing any."""
    folder = Path(path)
    numpy_dir = folder / "numpy"
    version = path_str = None
    if (numpy_dir / "__init__.py").is_file():
        version = _metadata_version(folder, "numpy") or _numpy_version_in(numpy_dir)
        path_str = str(numpy_dir)
    modules = tuple(m for m in NUMPY_MODULES if _has_module(folder, m))
    return SystemSite(str(folder), version, path_str, modules)


def _origin(name: str) -> str | None:
    """The file ``import name`` would load, found without importing it (a broken extension can crash)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin not in (None, "built-in", "frozen") else None


def _pip_opencv(system: str | None) -> tuple[tuple[str, str, str], ...]:
    out = []
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name in OPENCV_DISTS:
            where = os.path.realpath(str(dist.locate_file("")))
            if system is None or not _inside(where, system):
                out.append((name, dist.version, where))
    return tuple(sorted(out))


def read_stack_facts() -> StackFacts:
    """This interpreter's :class:`StackFacts`: the numpy it imported and the system site directories it sees."""
    searched = system_site_dirs()
    sites = [read_system_site(d) for d in searched]
    system = next((s for s in sites if s.modules), None)
    origins = tuple((m, (os.path.realpath(o) if (o := _origin(m)) else None))
                    for m in (system.modules if system else ()))
    venv = sys.prefix if sys.prefix != sys.base_prefix else None
    return StackFacts(numpy_version=np.__version__, numpy_path=os.path.realpath(os.path.dirname(np.__file__)),
                      searched=searched, system=system, origins=origins,
                      pip_opencv=_pip_opencv(system.path if system else None), venv=venv)


def check_system_numpy() -> list[Finding]:
    """The ``system-numpy`` (and ``system-opencv``) findings for this interpreter."""
    return system_numpy_findings(read_stack_facts())
