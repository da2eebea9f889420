"""Ed25519 keys for model bundles (``cryptography``, the ``[store]`` extra; no home-made crypto).

- the publisher (host): :func:`generate_keys` writes ``NAME.key`` (PKCS#8 PEM, mode 0600) and ``NAME.pub``
  (SubjectPublicKeyInfo PEM); :func:`sign` signs a manifest's canonical bytes.
- the device: ``STORE/trusted-keys/KEYID.pub`` (:func:`trust`); :func:`check_signature` accepts a signature only
  from one of them.

A key's id is the first 16 hex digits of the SHA-256 of its raw 32 public bytes; ``manifest.sig`` names it::

    {"algorithm":"ed25519","key_id":"3f9a0c5d1e2b4a67","signature":"<base64 of 64 bytes>"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Any

from edgeml._optional import require
from edgeml.data_dir import TRUSTED_KEYS, store_subdir
from edgeml.errors import BundleError
from edgeml.store.atomic import write_atomic
from edgeml.store.manifest import canonical, parse_canonical

__all__ = ["check_signature", "generate_keys", "key_id", "load_private_key", "load_public_key", "sign",
           "trust", "trusted_keys"]

ALGORITHM = "ed25519"
_MAX_KEY_FILE = 16 * 1024


def _serialization() -> Any:
    return require("cryptography.hazmat.primitives.serialization", "Ed25519 signatures of model bundles")


def _ed25519() -> Any:
    return require("cryptography.hazmat.primitives.asymmetric.ed25519", "Ed25519 signatures of model bundles")


def key_id(public_key: Any) -> str:
    """The key's id: 16 hex digits of SHA-256 over its raw public bytes."""
    s = _serialization()
    raw = public_key.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keys(output: str | os.PathLike[str], name: str = "edgeml-signing") -> tuple[Path, Path]:
    """Write a new key pair into ``output``: ``NAME.key`` (private, 0600) and ``NAME.pub``; return both paths.

    Raises:
        BundleError: A key of that name is already there (never overwritten).
    """
    s = _serialization()
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
    for p in (private_path, public_path):
        if p.exists():
            raise BundleError(f"{str(p)!r} already exists; a signing key is never overwritten. Pick another "
                              "--output folder or --name.")
    key = _ed25519().Ed25519PrivateKey.generate()
    pem = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def _read_key_file(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_KEY_FILE:
            raise BundleError(f"{str(p)!r} is too large to be a key file.")
        return p.read_bytes()
    except OSError as exc:
        raise BundleError(f"Cannot read key file {str(p)!r}: {exc.strerror or exc}. Make one with "
                          "`edgeml keys generate --output DIR`.") from exc


def load_private_key(path: str | os.PathLike[str]) -> Any:
    """Read an Ed25519 private key (PEM) written by :func:`generate_keys`."""
    s, ed = _serialization(), _ed25519()
    try:
        key = s.load_pem_private_key(_read_key_file(path), password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{str(path)!r} is not an unencrypted PEM private key ({exc}). Pass the .key file "
                          "`edgeml keys generate` wrote.") from exc
    if not isinstance(key, ed.Ed25519PrivateKey):
        raise BundleError(f"{str(path)!r} is not an Ed25519 key. Make one with `edgeml keys generate`.")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Any:
    """Read an Ed25519 public key (PEM) written by :func:`generate_keys`."""
    s, ed = _serialization(), _ed25519()
    try:
        key = s.load_pem_public_key(_read_key_file(path))
    except ValueError as exc:
        raise BundleError(f"{str(path)!r} is not a PEM public key ({exc}). Pass the .pub file `edgeml keys "
                          "generate` wrote.") from exc
    if not isinstance(key, ed.Ed25519PublicKey):
        raise BundleError(f"{str(path)!r} is not an Ed25519 public key. Make one with `edgeml keys generate`.")
    return key


def sign(private_key: Any, data: bytes) -> bytes:
    """Return ``manifest.sig``: the canonical JSON naming the key and the base64 signature of ``data``."""
    signature = private_key.sign(data)
    return canonical({"algorithm": ALGORITHM, "key_id": key_id(private_key.public_key()),
                      "signature": base64.b64encode(signature).decode("ascii")})


def trusted_keys(store: str | os.PathLike[str]) -> dict[str, Any]:
    """Return ``{key_id: public key}`` for every ``STORE/trusted-keys/*.pub`` (an absent folder trusts nobody)."""
    folder = Path(store) / TRUSTED_KEYS
    keys: dict[str, Any] = {}
    if folder.is_dir():
        for p in sorted(folder.glob("*.pub")):
            key = load_public_key(p)
            keys[key_id(key)] = key
    return keys


def trust(store: str | os.PathLike[str], public_key_path: str | os.PathLike[str]) -> str:
    """Copy a public key into ``STORE/trusted-keys/KEYID.pub``; return its id."""
    key = load_public_key(public_key_path)
    kid = key_id(key)
    s = _serialization()
    folder = store_subdir(store, TRUSTED_KEYS)
    write_atomic(folder / f"{kid}.pub", key.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo),
                 mode=0o644)
    return kid


def check_signature(signature_file: bytes, data: bytes, trusted: dict[str, Any]) -> str:
    """Check ``manifest.sig`` against ``data`` (the manifest's bytes); return the signing key's id.

    Raises:
        BundleError: Not a signature file, a key the store does not trust, or a signature that does not match.
    """
    doc = parse_canonical(signature_file, "manifest.sig")
    kid = doc.get("key_id")
    if doc.get("algorithm") != ALGORITHM or not isinstance(kid, str) or not isinstance(doc.get("signature"), str):
        raise BundleError("The bundle's manifest.sig is not an Ed25519 signature made by `edgeml bundle create`. "
                          "Make the bundle again.")
    key = trusted.get(kid)
    if key is None:
        hint = "this store trusts no key yet" if not trusted else f"it trusts {', '.join(sorted(trusted))}"
        raise BundleError(f"The bundle is signed by key {kid}, which this store does not trust ({hint}). Trust the "
                          "publisher's key with `edgeml models trust KEY.pub`, or sign with a trusted key.")
    try:
        signature = base64.b64decode(doc["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleError("The bundle's signature is not valid base64: the bundle is damaged. Copy it again.") from exc
    invalid = require("cryptography.exceptions", "Ed25519 signatures of model bundles").InvalidSignature
    try:
        key.verify(signature, data)
    except invalid:
        raise BundleError(f"The bundle's manifest does not match its signature by key {kid}: it was changed after "
                          "signing or damaged in transit. Copy the bundle again, or make it again.") from None
    return kid
