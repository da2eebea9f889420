"""`edgeml bundle`, `keys`, `models` end to end on real models: each refusal is one line that names the fix."""

from __future__ import annotations

import json
import os

import pytest

from edgeml.errors import BundleError, ModelFormatError, StoreError
from edgeml.store.store import ModelStore
from tests.integration.store_kit import DATA, TINY, bundle, cli, signed_store


def _refused(*args: str, match: str) -> str:
    done = cli(*args, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in line, line
    assert match in line, line
    return line


def test_keys_bundle_trust_install_list_show_via_the_cli(tmp_path):
    cli("keys", "generate", "--output", str(tmp_path / "k"))
    assert (tmp_path / "k").is_dir()
    private = next(p for p in (tmp_path / "k").iterdir() if p.suffix != ".pub")
    public = next(p for p in (tmp_path / "k").iterdir() if p.suffix == ".pub")
    assert private.stat().st_mode & 0o777 == 0o600
    out = tmp_path / "tiny-1.edgeml"
    cli("bundle", "create", str(TINY), str(DATA / "tiny_int8_edgetpu.tflite"), "--name", "tiny", "--version", "1",
        "--key", str(private), "--output", str(out))
    store = ["--store", str(tmp_path / "store")]
    _refused("models", "install", str(out), *store, match="edgeml models trust")  # no key trusted yet
    cli("models", "trust", str(public), *store)
    done = cli("models", "install", str(out), "--activate", *store)
    assert "installed tiny 1 (signed by" in done.stdout and "probe" in done.stdout
    listed = json.loads(cli("models", "list", "--json", *store).stdout)
    assert listed["models"][0] | {"versions": [1], "current": 1} == listed["models"][0]
    shown = json.loads(cli("models", "show", "tiny", "--json", *store).stdout)
    assert shown["versions"][0]["edgetpu_model"] == "tiny_int8_edgetpu.tflite"
    assert cli("models", "verify", *store).returncode == 0
    ran = cli("classify", "--model", "store:tiny@1", "--source", "synthetic:8x8", "--max-frames", "2", "--json",
              *store)
    assert json.loads(ran.stdout.splitlines()[0])["model"] == {"name": "tiny", "version": 1}


def test_tampered_bundle_via_the_cli_is_one_line(tmp_path):
    store, key = signed_store(tmp_path)
    path = bundle(tmp_path, key, 1)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20  # inside the model payload
    path.write_bytes(bytes(data))
    _refused("models", "install", str(path), "--store", str(store.root), match="Copy it again")
    assert store.names() == [] or store.versions("tiny") == []


def test_downgrade_is_refused_and_names_rollback(tmp_path):
    store, key = signed_store(tmp_path)
    store.install(bundle(tmp_path, key, 2), activate=True)
    old = bundle(tmp_path, key, 1)
    line = _refused("models", "install", str(old), "--store", str(store.root), match="not above the newest")
    assert "edgeml models rollback tiny" in line and "version 3" in line
    with pytest.raises(BundleError):
        store.install(bundle(tmp_path, key, 2, DATA / "tiny_float32.tflite"))  # same number, other bytes


def test_unsigned_needs_allow_unsigned_and_the_store_remembers(tmp_path):
    store, _ = signed_store(tmp_path)
    path = bundle(tmp_path, None, 1)
    _refused("models", "install", str(path), "--store", str(store.root), match="--allow-unsigned")
    done = cli("models", "install", str(path), "--allow-unsigned", "--store", str(store.root))
    assert "UNSIGNED" in done.stdout
    record = store.install_record("tiny", 1)
    assert record["signed"] is False and record["allowed_unsigned"] is True
    shown = json.loads(cli("models", "show", "tiny", "--json", "--store", str(store.root)).stdout)
    assert shown["versions"][0]["key_id"] is None
    assert "unsigned" in cli("models", "show", "tiny", "--store", str(store.root)).stdout
    assert cli("models", "verify", "--store", str(store.root)).returncode == 0  # recorded, so not a problem


def test_a_model_the_verifier_refuses_is_not_bundled(tmp_path):
    store, key = signed_store(tmp_path)
    broken = tmp_path / "broken.tflite"
    data = bytearray(TINY.read_bytes())
    data[4:8] = b"XXXX"  # not a TFLite file identifier
    broken.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError):  # the host refuses to bundle it; the device runs the same verifier
        bundle(tmp_path, key, 1, broken)
    assert not (tmp_path / "tiny-1.edgeml").exists() and store.names() == []


def test_verify_finds_a_changed_installed_byte_and_activate_refuses_it(tmp_path):
    store, key = signed_store(tmp_path)
    store.install(bundle(tmp_path, key, 1), activate=True)
    store.install(bundle(tmp_path, key, 2))
    model = store.version_dir("tiny", 2) / TINY.name
    os.chmod(model, 0o644)
    data = bytearray(model.read_bytes())
    data[-1] ^= 1
    model.write_bytes(bytes(data))
    done = cli("models", "verify", "--store", str(store.root), check=False)
    assert done.returncode == 1 and "PROBLEM  tiny 2" in done.stdout
    with pytest.raises(StoreError, match="damaged on disk.*edgeml models remove tiny 2"):
        store.activate("tiny", 2)
    store.remove("tiny", 2)
    assert store.versions("tiny") == [1] and cli("models", "verify", "--store", str(store.root)).returncode == 0


def test_rollback_and_remove_rules(tmp_path):
    store, key = signed_store(tmp_path)
    store.install(bundle(tmp_path, key, 1), activate=True)
    from edgeml.store import health
    health.commit(store, "tiny", 1, 0)
    store.install(bundle(tmp_path, key, 2), activate=True)
    with pytest.raises(StoreError, match="current"):
        store.remove("tiny", 2)
    assert "current is now 1" in cli("models", "rollback", "tiny", "--store", str(store.root)).stdout
    assert ModelStore(store.root).current("tiny") == 1
    with pytest.raises(StoreError, match="current"):
        store.remove("tiny", 1)
