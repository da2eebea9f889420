"""Model bundles: one ``.edgeml`` file (a canonical ustar archive) holding a manifest, its signature and the files.

Layout, in this order: ``manifest.json`` (canonical bytes, :mod:`edgeml.store.manifest`), ``manifest.sig`` (absent
when unsigned), then every file the manifest lists. It is a plain tar (``tar tvf kiosk-3.edgeml`` lists it), but
the reader accepts only what :func:`create_bundle` writes, so that **every byte** of the file is checked:

- each 512-byte header must be exactly the header edgeml writes for that member (name, size, mode 0644, owner 0,
  the manifest's time; its checksum included), so a changed header byte is refused, not ignored;
- members are contiguous and each one's padding is zero; the file ends right after its two end-of-archive blocks;
- only regular files with flat names (no symlink, hard link, device, folder, ``..`` or ``/``), each listed in the
  manifest with its size and SHA-256, none twice, none missing;
- the signature is checked against the store's trusted keys before any file is unpacked, and the sizes declared in
  the signed manifest bound what is read.

:func:`unpack` copies the files into a folder (the store's staging folder) while hashing them; an unpacked folder
(``manifest.json`` + files) installs the same way, with the same checks.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import re
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from edgeml._version import __version__
from edgeml.errors import BundleError, one_line
from edgeml.store.atomic import temp_name
from edgeml.store.keys import check_signature, load_private_key, sign
from edgeml.store.manifest import MANIFEST, RESERVED, SIGNATURE, FileEntry, Manifest, check_file_name

__all__ = ["BUNDLE_SUFFIX", "Unpacked", "check_requirements", "create_bundle", "report_figures", "unpack"]

BUNDLE_SUFFIX = ".edgeml"
BLOCK = 512
_MAX_MANIFEST, _MAX_SIGNATURE = 1 << 20, 4096
_CHUNK = 1 << 20
_ENC = ("utf-8", "surrogateescape")


def _header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uname, info.gname = size, mtime, 0o644, "", ""
    return info.tobuf(tarfile.USTAR_FORMAT, *_ENC)


def _kind(path: Path) -> str:
    if path.suffix == ".tflite":
        from edgeml.model.file import ModelFile

        model = ModelFile.open(path)
        model.verify(runtime=False)  # a faulty model is refused on the host, not on a kiosk
        return "model-edgetpu" if model.compiled_for_edgetpu else "model"
    if path.name == "report.json":
        return "report"
    return "labels" if path.suffix == ".txt" else "file"


def report_figures(report_json: str | os.PathLike[str], model_name: str) -> dict[str, Any]:
    """The figures a conversion report gives for ``model_name``: images, float and int8 top-1, agreement."""
    import json

    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    models = report.get("models") or []
    entry = next((m for m in models if m.get("name") == model_name), None)
    if entry is None:
        return {}
    figures = {"images": report.get("images"), "top1_accuracy": entry.get("top1_accuracy"),
               "agreement_with_float": entry.get("agreement_with_float")}
    if models and models[0] is not entry:
        figures["float_top1_accuracy"] = models[0].get("top1_accuracy")
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in figures.items() if v is not None}


def create_bundle(files: Sequence[str | os.PathLike[str]], *, name: str, version: int, output: str | os.PathLike[str],
                  key: str | os.PathLike[str] | None, board: str | None = None,
                  report: dict[str, Any] | None = None, created: datetime.datetime | None = None) -> Manifest:
    """Write a bundle of ``files`` (the first CPU ``.tflite`` is the model) to ``output``; return its manifest.

    Args:
        files: Model(s) (the CPU model and its ``_edgetpu`` twin), labels, ``report.json``, anything else; flat
            names, each once.
        name: The model's name on the device (``store:NAME``).
        version: An integer above every version the devices have installed.
        output: The ``.edgeml`` file to write (replaced atomically).
        key: The private key from ``edgeml keys generate`` (None: unsigned, installable only with
            ``--allow-unsigned``).
        board: The board profile it is meant for (recorded; informational).
        report: Accuracy/agreement figures to record (default: read from a ``report.json`` among ``files``).

    Raises:
        BundleError: A file name that is not flat, twice the same name, no CPU model, a bad key file.
        ModelFormatError: A ``.tflite`` the verifier refuses.
    """
    paths = [Path(f) for f in files]
    entries = []
    for p in paths:
        check_file_name(p.name)
        if p.name in RESERVED:
            raise BundleError(f"{p.name!r} is a name the bundle itself uses; rename the file.")
        if not p.is_file():
            raise BundleError(f"{str(p)!r} is not a file.")
        entries.append(FileEntry(p.name, _sha256_file(p), p.stat().st_size, _kind(p)))
    model = next((e.path for e in entries if e.kind == "model"), None)
    if model is None:
        raise BundleError("A bundle needs a CPU .tflite model (also the fallback of an _edgetpu one). Pass it first.")
    edgetpu = next((e.path for e in entries if e.kind == "model-edgetpu"), None)
    if report is None:
        report_path = next((p for p, e in zip(paths, entries, strict=True) if e.kind == "report"), None)
        report = report_figures(report_path, model) if report_path is not None else {}
    when = (created or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    manifest = Manifest(name=name, version=version, files=tuple(entries), model=model,
                        created=when.strftime("%Y-%m-%dT%H:%M:%SZ"), edgetpu_model=edgetpu,
                        requires={"edgeml": __version__}, target={"board": board,
                                                                  "device": "edgetpu" if edgetpu else "cpu"},
                        report=report)
    data = manifest.to_bytes()
    members: list[tuple[str, BinaryIO | bytes, int]] = [(MANIFEST, data, len(data))]
    if key is not None:
        signature = sign(load_private_key(key), data)
        members.append((SIGNATURE, signature, len(signature)))
    out = Path(output)
    tmp = out.parent / temp_name()
    mtime = int(when.timestamp())
    try:
        with tmp.open("wb") as f:
            for member, content, size in members:
                _write_member(f, member, io.BytesIO(content) if isinstance(content, bytes) else content, size, mtime)
            for p, e in zip(paths, entries, strict=True):
                with p.open("rb") as src:
                    _write_member(f, e.path, src, e.size, mtime)
            f.write(b"\0" * (2 * BLOCK))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def _write_member(f: BinaryIO, name: str, src: BinaryIO, size: int, mtime: int) -> None:
    f.write(_header(name, size, mtime))
    _copy_exact(src, size, f, f"{name!r} changed while it was being bundled; try again.")
    f.write(b"\0" * (-size % BLOCK))


def _copy_exact(src: Any, size: int, out: BinaryIO, short: str, h: Any = None) -> None:
    """Copy exactly ``size`` bytes from ``src`` to ``out`` (feeding ``h``, a hash); BundleError(``short``) if fewer."""
    left = size
    while left:
        chunk = src.read(min(_CHUNK, left))
        if not chunk:
            raise BundleError(short)
        if h is not None:
            h.update(chunk)
        out.write(chunk)
        left -= len(chunk)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Unpacked:
    """What :func:`unpack` checked: the manifest and who signed it (``key_id`` None: unsigned)."""

    def __init__(self, manifest: Manifest, key_id: str | None) -> None:
        self.manifest, self.key_id = manifest, key_id


def unpack(source: str | os.PathLike[str], dest: str | os.PathLike[str], trusted: dict[str, Any], *,
           allow_unsigned: bool = False) -> Unpacked:
    """Check ``source`` (a ``.edgeml`` bundle or an unpacked folder) and copy its files into the folder ``dest``.

    Raises:
        BundleError: Anything in the module docstring's list; the message names the fix.
    """
    src = Path(source)
    if src.is_dir():
        return _unpack_dir(src, Path(dest), trusted, allow_unsigned)
    try:
        f = src.open("rb")
    except OSError as exc:
        raise BundleError(f"Cannot read bundle {str(src)!r}: {exc.strerror or exc}. Pass a .edgeml file made by "
                          "`edgeml bundle create` (or an unpacked bundle folder).") from exc
    with f:
        return _unpack_members(_members(f, src.name), Path(dest), trusted, allow_unsigned, src.name)


def _unpack_members(members: Iterator[tuple[str, int, Any]], dest: Path, trusted: dict[str, Any],
                    allow_unsigned: bool, label: str) -> Unpacked:
    manifest, key, kept, rest = _signed_manifest(members, trusted, allow_unsigned, label)
    for name, data in kept.items():  # the manifest and its signature stay with the version, for `models verify`
        fd = os.open(dest / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    seen: set[str] = set()
    for name, size, stream in rest:
        _copy_checked(manifest, name, size, stream, dest, seen)
    missing = [f.path for f in manifest.files if f.path not in seen]
    if missing:
        raise BundleError(f"The bundle lacks {missing[0]!r}, which its manifest lists. Copy it again.")
    return Unpacked(manifest, key)


def _members(f: BinaryIO, label: str) -> Iterator[tuple[str, int, Any]]:
    """Yield ``(name, size, reader)`` per member after checking its header and padding (see module docstring)."""
    size_total = os.fstat(f.fileno()).st_size
    offset = 0
    while True:
        f.seek(offset)
        block = f.read(BLOCK)
        if len(block) < BLOCK:
            raise BundleError(f"{label!r} is truncated (it ends inside a header at byte {offset}). Copy it again.")
        if block == bytes(BLOCK):
            _zeros_to_end(f, offset, label)
            return
        try:
            info = tarfile.TarInfo.frombuf(block, *_ENC)
        except tarfile.HeaderError as exc:
            raise BundleError(f"{label!r} has a damaged header at byte {offset} ({one_line(exc)}): it is not an "
                              "edgeml bundle, or it was damaged. Copy it again.") from exc
        name = check_file_name(info.name)  # before anything else: a path-traversal entry is named as such
        if not info.isreg():
            kind = {tarfile.SYMTYPE: "a symlink", tarfile.LNKTYPE: "a hard link", tarfile.DIRTYPE: "a folder"}.get(
                info.type, "a device or special file")
            target = f" -> {info.linkname!r}" if info.linkname else ""
            raise BundleError(f"{label!r} holds {kind} {name!r}{target}: refused (bundles hold regular files only). "
                              "Make the bundle again with `edgeml bundle create`.")
        if _header(name, info.size, int(info.mtime)) != block:
            raise BundleError(f"{label!r}: the header of {name!r} at byte {offset} is not the one edgeml writes (a "
                              "changed byte, or another tar tool). Copy the bundle again, or make it with `edgeml "
                              "bundle create`.")
        data = offset + BLOCK
        end = data + info.size
        if end > size_total:
            raise BundleError(f"{label!r} is truncated inside {name!r}. Copy it again.")
        f.seek(end)
        if f.read(-info.size % BLOCK) != bytes(-info.size % BLOCK):
            raise BundleError(f"{label!r}: the padding after {name!r} is not zero (a changed byte). Copy it again.")
        f.seek(data)
        yield name, info.size, _Window(f, data, info.size)
        offset = end + (-info.size % BLOCK)


def _zeros_to_end(f: BinaryIO, offset: int, label: str) -> None:
    """After the last member: exactly the two zero blocks :func:`create_bundle` writes, then the end of the file."""
    f.seek(offset)
    tail = f.read(2 * BLOCK + 1)
    if tail != bytes(2 * BLOCK):
        raise BundleError(f"{label!r} does not end with its end-of-archive blocks (a changed byte, something appended, "
                          "or a cut copy). Copy it again.")


class _Window:
    """Reads ``size`` bytes of ``f`` from ``start``, wherever the file position was left."""

    def __init__(self, f: BinaryIO, start: int, size: int) -> None:
        self.f, self.pos, self.left = f, start, size

    def read(self, n: int) -> bytes:
        n = min(n, self.left)
        self.f.seek(self.pos)
        chunk = self.f.read(n)
        self.pos += len(chunk)
        self.left -= len(chunk)
        return chunk


def _signed_manifest(members: Iterator[tuple[str, int, Any]], trusted: dict[str, Any], allow_unsigned: bool,
                     label: str) -> tuple[Manifest, str | None, dict[str, bytes], Iterator[tuple[str, int, Any]]]:
    first = next(members, None)
    if first is None or first[0] != MANIFEST or first[1] > _MAX_MANIFEST:
        raise BundleError(f"{label!r} does not start with manifest.json: it is not an edgeml bundle. Make it with "
                          "`edgeml bundle create`.")
    data = first[2].read(first[1])
    manifest = Manifest.from_bytes(data)
    key: str | None = None
    kept = {MANIFEST: data}
    head = next(members, None)
    if head is not None and head[0] == SIGNATURE:
        if head[1] > _MAX_SIGNATURE:
            raise BundleError(f"{label!r}: manifest.sig is too large to be a signature. Make the bundle again.")
        kept[SIGNATURE] = head[2].read(head[1])
        key = check_signature(kept[SIGNATURE], data, trusted)
        head = None
    elif not allow_unsigned:
        raise BundleError(f"{label!r} is not signed. Sign it (`edgeml bundle create ... --key KEY`), or install it "
                          "with --allow-unsigned (the store records that it was).")
    if head is not None:  # the first file of an unsigned bundle: put it back in front
        members = _prepend(head, members)
    return manifest, key, kept, members


def _prepend(head: tuple[str, int, Any], rest: Iterator[tuple[str, int, Any]]) -> Iterator[tuple[str, int, Any]]:
    yield head
    yield from rest


def _copy_checked(manifest: Manifest, name: str, size: int, stream: Any, dest: Path, seen: set[str]) -> None:
    listed = {f.path: f for f in manifest.files}
    entry = listed.get(name)
    if entry is None:
        raise BundleError(f"The bundle holds {name!r}, which its manifest does not list: refused. Make the bundle "
                          "again with `edgeml bundle create`.")
    if name in seen:
        raise BundleError(f"The bundle holds {name!r} twice: refused. Make it again with `edgeml bundle create`.")
    seen.add(name)
    if size != entry.size:
        raise BundleError(f"{name!r} is {size} bytes but the signed manifest says {entry.size}: the bundle was "
                          "changed or damaged. Copy it again.")
    h = hashlib.sha256()
    fd = os.open(dest / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:
        _copy_exact(stream, size, out, f"{name!r} is truncated. Copy the bundle again.", h)
    if h.hexdigest() != entry.sha256:
        raise BundleError(f"{name!r} does not match its SHA-256 in the signed manifest: the bundle was changed or "
                          "damaged. Copy it again.")


def _unpack_dir(src: Path, dest: Path, trusted: dict[str, Any], allow_unsigned: bool) -> Unpacked:
    entries = {e.name: e for e in os.scandir(src)}
    for e in entries.values():
        if e.is_symlink():
            raise BundleError(f"{str(src)!r} holds a symlink {e.name!r}: refused (bundles hold regular files only).")
        if not e.is_file(follow_symlinks=False):
            raise BundleError(f"{str(src)!r} holds {e.name!r}, which is not a regular file: refused.")
        check_file_name(e.name)
    if MANIFEST not in entries:
        raise BundleError(f"{str(src)!r} has no manifest.json: it is not an unpacked edgeml bundle.")
    files = [(n, os.stat(entries[n].path).st_size, entries[n].path) for n in sorted(entries)]

    def readers() -> Iterator[tuple[str, int, Any]]:
        order = [MANIFEST, SIGNATURE]
        for n, size, path in sorted(files, key=lambda t: (order.index(t[0]) if t[0] in order else 2, t[0])):
            with open(path, "rb") as f:
                yield n, size, f

    return _unpack_members(readers(), dest, trusted, allow_unsigned, src.name)


def check_requirements(manifest: Manifest) -> None:
    """Refuse a bundle that needs a newer edgeml than this one."""
    needed = manifest.requires.get("edgeml")
    if needed and _version_tuple(needed) > _version_tuple(__version__):
        raise BundleError(f"{manifest.name} {manifest.version} needs edgeml >= {needed}; this device has "
                          f"{__version__}. Upgrade it: pip install -U edgeml")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])
