"""Release signing: an Ed25519 key pair, ``SHA256SUMS`` over the release folder and its
detached signature ``SHA256SUMS.sig`` (checked by ``cielo verify`` or openssl)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.integrity import file_sha256
from app.release import SIGNATURE_FILE, SUMS_FILE, format_sums

PASSPHRASE_ENV = "CIELO_SIGNING_PASSPHRASE"


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def generate_keys(private: Path, public: Path) -> None:
    """Write a new Ed25519 private key (PKCS#8 PEM, encrypted with ``$CIELO_SIGNING_PASSPHRASE``
    when set, mode 0600) and its public key (PEM) for IT."""
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            encryption)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def sign_release(folder: Path, private: Path) -> Path:
    """Write ``SHA256SUMS`` for every file directly in ``folder`` and sign it; returns the
    signature's path."""
    key = serialization.load_pem_private_key(private.read_bytes(), password=_passphrase())
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{private} is not an Ed25519 private key")
    skip = {SUMS_FILE, SIGNATURE_FILE}
    digests = {p.name: file_sha256(p) for p in sorted(folder.iterdir())
               if p.is_file() and p.name not in skip}
    sums = format_sums(digests).encode("utf-8")
    (folder / SUMS_FILE).write_bytes(sums)
    (folder / SIGNATURE_FILE).write_bytes(key.sign(sums))
    return folder / SIGNATURE_FILE
