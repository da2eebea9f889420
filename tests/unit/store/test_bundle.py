"""Bundles: every byte is checked, and each refusal is one line that names the fix (no interpreter needed)."""

from __future__ import annotations

import io
import os
import random
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="the [store] extra (cryptography) signs and verifies bundles")

from edgeml.errors import BundleError
from edgeml.store.bundle import create_bundle, unpack
from edgeml.store.keys import generate_keys, key_id, load_public_key, trust, trusted_keys
from edgeml.store.manifest import Manifest, canonical

DATA = Path(__file__).resolve().parents[2] / "data"
TINY, TINY_TPU = DATA / "tiny_int8.tflite", DATA / "tiny_int8_edgetpu.tflite"


@pytest.fixture
def keys(tmp_path):
    private, public = generate_keys(tmp_path / "keys")
    store = tmp_path / "store"
    trust(store, public)
    return private, public, store


@pytest.fixture
def bundle(keys, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    path = tmp_path / "tiny-1.edgeml"
    create_bundle([TINY, TINY_TPU, labels], name="tiny", version=1, output=path, key=keys[0])
    return path


def _unpack(path, store, tmp_path, **kw):
    dest = tmp_path / f"dest-{random.random()}"
    dest.mkdir()
    return unpack(path, dest, trusted_keys(store), **kw), dest


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_key_files_private_0600_and_never_overwritten(tmp_path):
    private, public = generate_keys(tmp_path)
    assert private.stat().st_mode & 0o777 == 0o600
    assert len(key_id(load_public_key(public))) == 16
    with pytest.raises(BundleError, match="never overwritten"):
        generate_keys(tmp_path)


def test_round_trip_unpacks_every_file_and_names_the_signer(bundle, keys, tmp_path):
    done, dest = _unpack(bundle, keys[2], tmp_path)
    m = done.manifest
    assert (m.name, m.version, m.model, m.edgetpu_model) == ("tiny", 1, TINY.name, TINY_TPU.name)
    assert done.key_id == key_id(load_public_key(keys[1]))
    assert (dest / TINY.name).read_bytes() == TINY.read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == sorted(["manifest.json", "manifest.sig", "labels.txt",
                                                             TINY.name, TINY_TPU.name])
    assert Manifest.from_bytes((dest / "manifest.json").read_bytes()) == m
    assert {f.kind for f in m.files} == {"model", "model-edgetpu", "labels"}
    with tarfile.open(bundle) as tf:  # a plain tar any tool lists
        assert tf.getnames()[:2] == ["manifest.json", "manifest.sig"]


def test_a_changed_byte_anywhere_is_refused(bundle, keys, tmp_path):
    """Headers, manifest, signature, files, padding and the end-of-archive blocks: each flip is refused."""
    data = bundle.read_bytes()
    rng = random.Random(18)
    positions = sorted(set(range(0, 1536)) | set(rng.sample(range(len(data)), 400)) | {len(data) - 1})
    refused = 0
    for pos in positions:
        bad = bytearray(data)
        bad[pos] ^= 1 << rng.randrange(8)
        path = tmp_path / "t.edgeml"
        path.write_bytes(bytes(bad))
        with pytest.raises(BundleError) as info:
            _unpack(path, keys[2], tmp_path)
        _one_line(info.value)
        refused += 1
    assert refused == len(positions) > 1500


@pytest.mark.parametrize("cut", [1, 511, 512, 5000])
def test_truncated_or_extended_bundle_is_refused(bundle, keys, tmp_path, cut):
    data = bundle.read_bytes()
    for variant in (data[:-cut], data + b"x" * cut):
        path = tmp_path / "t.edgeml"
        path.write_bytes(variant)
        with pytest.raises(BundleError):
            _unpack(path, keys[2], tmp_path)


def test_wrong_key_is_refused_naming_the_trust_command(keys, tmp_path):
    other, _ = generate_keys(tmp_path / "other")
    path = tmp_path / "x.edgeml"
    create_bundle([TINY], name="tiny", version=1, output=path, key=other)
    with pytest.raises(BundleError, match=r"does not trust .* `edgeml models trust KEY.pub`") as info:
        _unpack(path, keys[2], tmp_path)
    _one_line(info.value)


def test_unsigned_is_refused_unless_allowed(keys, tmp_path):
    path = tmp_path / "u.edgeml"
    create_bundle([TINY], name="tiny", version=1, output=path, key=None)
    with pytest.raises(BundleError, match="not signed.*--allow-unsigned"):
        _unpack(path, keys[2], tmp_path)
    done, dest = _unpack(path, keys[2], tmp_path, allow_unsigned=True)
    assert done.key_id is None and (dest / TINY.name).is_file()


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A ustar archive ending like edgeml's (two zero blocks), so each test reaches the check it is about."""
    out = io.BytesIO()
    for info, content in members:
        out.write(info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape"))
        out.write(content + bytes(-len(content) % 512))
    return out.getvalue() + bytes(1024)


def _info(name: str, size: int = 0, type_: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname, info.mode, info.uname, info.gname = size, type_, link, 0o644, "", ""
    return info


def _signed_manifest(private: Path, files: dict[str, bytes]) -> tuple[bytes, bytes]:
    import hashlib

    from edgeml.store.keys import load_private_key, sign

    m = Manifest("tiny", 1, tuple(__import__("edgeml.store.manifest", fromlist=["FileEntry"]).FileEntry(
        n, hashlib.sha256(d).hexdigest(), len(d), "model" if n.endswith(".tflite") else "file")
        for n, d in files.items()), model=next(iter(files)), created="2026-01-01T00:00:00Z")
    data = m.to_bytes()
    return data, sign(load_private_key(private), data)


@pytest.mark.parametrize("evil", [
    _info("../escape.tflite", 4), _info("/etc/cron.d/x", 4), _info("sub/dir.txt", 4), _info(".hidden", 4),
])
def test_path_traversal_entries_are_refused(keys, tmp_path, evil):
    model = TINY.read_bytes()
    manifest, sig = _signed_manifest(keys[0], {TINY.name: model})
    data = _tar([(_info("manifest.json", len(manifest)), manifest), (_info("manifest.sig", len(sig)), sig),
                 (_info(TINY.name, len(model)), model), (evil, b"evil")])
    path = tmp_path / "evil.edgeml"
    path.write_bytes(data)
    with pytest.raises(BundleError, match="could leave the model's folder") as info:
        _unpack(path, keys[2], tmp_path)
    _one_line(info.value)
    assert not (tmp_path / "escape.tflite").exists()


@pytest.mark.parametrize("kind, word", [(tarfile.SYMTYPE, "symlink"), (tarfile.LNKTYPE, "hard link"),
                                        (tarfile.DIRTYPE, "folder"), (tarfile.CHRTYPE, "device")])
def test_links_folders_and_devices_are_refused(keys, tmp_path, kind, word):
    model = TINY.read_bytes()
    manifest, sig = _signed_manifest(keys[0], {TINY.name: model})
    data = _tar([(_info("manifest.json", len(manifest)), manifest), (_info("manifest.sig", len(sig)), sig),
                 (_info("link", 0, kind, "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""), b"")])
    path = tmp_path / "link.edgeml"
    path.write_bytes(data)
    with pytest.raises(BundleError, match=word):
        _unpack(path, keys[2], tmp_path)


def test_unlisted_and_duplicate_files_are_refused(keys, tmp_path):
    model = TINY.read_bytes()
    manifest, sig = _signed_manifest(keys[0], {TINY.name: model})
    head = [(_info("manifest.json", len(manifest)), manifest), (_info("manifest.sig", len(sig)), sig),
            (_info(TINY.name, len(model)), model)]
    for extra, match in (((_info("extra.txt", 2), b"hi"), "does not list"),
                         ((_info(TINY.name, len(model)), model), "twice")):
        path = tmp_path / "x.edgeml"
        path.write_bytes(_tar([*head, extra]))
        with pytest.raises(BundleError, match=match):
            _unpack(path, keys[2], tmp_path)
    path.write_bytes(_tar(head[:2]))
    with pytest.raises(BundleError, match="lacks"):
        _unpack(path, keys[2], tmp_path)


def test_a_manifest_not_in_canonical_form_is_refused(keys, tmp_path):
    model = TINY.read_bytes()
    manifest, _ = _signed_manifest(keys[0], {TINY.name: model})
    spaced = manifest.replace(b",", b", ", 1)
    data = _tar([(_info("manifest.json", len(spaced)), spaced), (_info(TINY.name, len(model)), model)])
    path = tmp_path / "x.edgeml"
    path.write_bytes(data)
    with pytest.raises(BundleError, match="canonical"):
        _unpack(path, keys[2], tmp_path, allow_unsigned=True)
    assert canonical({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


def test_unpacked_folder_installs_the_same_way_and_refuses_symlinks(bundle, keys, tmp_path):
    done, folder = _unpack(bundle, keys[2], tmp_path)
    again, _ = _unpack(folder, keys[2], tmp_path)
    assert again.manifest == done.manifest
    os.symlink("/etc/passwd", folder / "passwd")
    with pytest.raises(BundleError, match="symlink"):
        _unpack(folder, keys[2], tmp_path)


@pytest.mark.parametrize("where", ["manifest header", "manifest", "signature", "model header", "model payload",
                                   "labels", "end blocks"])
def test_a_changed_byte_in_each_part_names_the_fix(bundle, keys, tmp_path, where):
    data = bytearray(bundle.read_bytes())
    with tarfile.open(bundle) as tf:
        members = {m.name: m for m in tf.getmembers()}
    model = members[TINY.name]
    pos = {"manifest header": 100, "manifest": members["manifest.json"].offset_data + 10,
           "signature": members["manifest.sig"].offset_data + members["manifest.sig"].size // 2,
           "model header": model.offset + 124, "model payload": model.offset_data + model.size // 2,
           "labels": members["labels.txt"].offset_data, "end blocks": len(data) - 700}[where]
    data[pos] ^= 0x04
    path = tmp_path / "t.edgeml"
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError) as info:
        _unpack(path, keys[2], tmp_path)
    text = _one_line(info.value)
    assert any(fix in text for fix in ("Copy it again", "copy the bundle again", "Copy the bundle again",
                                       "Make the bundle again", "make it again", "Make it again")), text
