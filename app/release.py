"""Verify a signed Cielo release offline: ``SHA256SUMS``, its detached Ed25519 signature
``SHA256SUMS.sig`` (64 raw bytes) and every file it lists.

The signature is over the exact bytes of ``SHA256SUMS``, so IT can also check it without
Cielo: ``openssl pkeyutl -verify -pubin -inkey cielo-release.pub -rawin -in SHA256SUMS
-sigfile SHA256SUMS.sig`` then ``sha256sum -c SHA256SUMS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import ReleaseInvalid
from app.integrity import file_sha256

SUMS_FILE = "SHA256SUMS"
SIGNATURE_FILE = "SHA256SUMS.sig"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](\S.*)$")


def format_sums(digests: dict[str, str]) -> str:
    """``sha256sum`` text lines (``<hex>  <name>``), sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))


def parse_sums(text: str) -> dict[str, str]:
    """Names and digests of a ``SHA256SUMS`` text (text or binary ``sha256sum`` mode).

    Raises:
        ReleaseInvalid: a line is not ``<64 hex> <space or *><name>``, or a name is unsafe.
    """
    digests: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.match(line)
        if not match:
            raise ReleaseInvalid(f"{SUMS_FILE} line {number} is not '<sha256>  <file name>'")
        digest, name = match.groups()
        if name.startswith(("/", "\\")) or ".." in Path(name).parts:
            raise ReleaseInvalid(f"{SUMS_FILE} line {number} names a file outside the folder")
        digests[name] = digest
    if not digests:
        raise ReleaseInvalid(f"{SUMS_FILE} lists no file")
    return digests


def load_public_key(path: Path):
    """An Ed25519 public key from a PEM file (``-----BEGIN PUBLIC KEY-----``).

    Raises:
        ReleaseInvalid: the file is unreadable or holds another kind of key.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ReleaseInvalid(f"cannot read the public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ReleaseInvalid(f"{path} is not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class FileCheck:
    """One listed file: ``ok``, ``missing`` or ``modified``."""

    name: str
    status: str


def verify_release(folder: Path, public_key: Path) -> list[FileCheck]:
    """Check the signature of ``folder/SHA256SUMS``, then every file it lists.

    Returns:
        One :class:`FileCheck` per listed file (the caller decides what a failure means).

    Raises:
        ReleaseInvalid: ``SHA256SUMS`` or its signature is missing, malformed or does not
            verify with ``public_key`` (nothing is then trusted, so no file is checked).
    """
    from cryptography.exceptions import InvalidSignature

    key = load_public_key(public_key)
    try:
        sums = (folder / SUMS_FILE).read_bytes()
        signature = (folder / SIGNATURE_FILE).read_bytes()
    except OSError as exc:
        raise ReleaseInvalid(f"cannot read the release's checksums: {exc}") from None
    try:
        key.verify(signature, sums)
    except InvalidSignature:
        raise ReleaseInvalid(
            f"{folder / SIGNATURE_FILE} does not verify with {public_key}: the checksums were "
            "altered or signed with another key; do not install this release"
        ) from None
    try:
        digests = parse_sums(sums.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReleaseInvalid(f"{SUMS_FILE} is not UTF-8 text") from None
    checks = []
    for name, digest in digests.items():
        path = folder / name
        if not path.is_file():
            checks.append(FileCheck(name, "missing"))
        else:
            checks.append(FileCheck(name, "ok" if file_sha256(path) == digest else "modified"))
    return checks
