"""Signed releases: SHA256SUMS, the Ed25519 signature and their offline verification."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from cielo_release.signing import generate_keys, sign_release
from click.testing import CliRunner

from app.cli.main import cli
from app.errors import ReleaseInvalid
from app.release import SIGNATURE_FILE, SUMS_FILE, parse_sums, verify_release


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "release.key", tmp_path / "release.pub"
    generate_keys(private, public)
    return private, public


@pytest.fixture()
def release(tmp_path: Path, keys: tuple[Path, Path]) -> Path:
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "cielo-0.1.0-linux-x86_64.tar.gz").write_bytes(b"tarball" * 1000)
    (folder / "cielo_0.1.0_amd64.deb").write_bytes(b"deb" * 1000)
    sign_release(folder, keys[0])
    return folder


def test_private_key_is_owner_only_and_sums_list_every_package(
    keys: tuple[Path, Path], release: Path
) -> None:
    assert keys[0].stat().st_mode & 0o077 == 0
    names = set(parse_sums((release / SUMS_FILE).read_text()))
    assert names == {"cielo-0.1.0-linux-x86_64.tar.gz", "cielo_0.1.0_amd64.deb"}
    assert len((release / SIGNATURE_FILE).read_bytes()) == 64


def test_untouched_release_verifies(release: Path, keys: tuple[Path, Path]) -> None:
    assert {c.status for c in verify_release(release, keys[1])} == {"ok"}


def test_modified_package_is_reported(release: Path, keys: tuple[Path, Path]) -> None:
    (release / "cielo_0.1.0_amd64.deb").write_bytes(b"evil")
    (release / "cielo-0.1.0-linux-x86_64.tar.gz").unlink()
    status = {c.name: c.status for c in verify_release(release, keys[1])}
    assert status == {"cielo_0.1.0_amd64.deb": "modified",
                      "cielo-0.1.0-linux-x86_64.tar.gz": "missing"}


def test_rewritten_checksums_fail_the_signature(release: Path, keys: tuple[Path, Path]) -> None:
    # an attacker swaps a package and updates SHA256SUMS to match, but cannot re-sign
    (release / "cielo_0.1.0_amd64.deb").write_bytes(b"evil")
    sums = (release / SUMS_FILE).read_text().splitlines()
    digest = hashlib.sha256(b"evil").hexdigest()
    (release / SUMS_FILE).write_text("\n".join(
        f"{digest}  cielo_0.1.0_amd64.deb" if line.endswith(".deb") else line for line in sums
    ) + "\n")
    with pytest.raises(ReleaseInvalid, match="does not verify"):
        verify_release(release, keys[1])


def test_another_key_fails(release: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    generate_keys(other / "k", other / "k.pub")
    with pytest.raises(ReleaseInvalid, match="does not verify"):
        verify_release(release, other / "k.pub")


@pytest.mark.parametrize(
    "text", ["", "not a line\n", f"{'a' * 64}  ../etc/passwd\n", f"{'a' * 64}  /abs\n"]
)
def test_malformed_or_escaping_checksums_are_rejected(text: str) -> None:
    with pytest.raises(ReleaseInvalid):
        parse_sums(text)


def test_openssl_verifies_the_same_signature(release: Path, keys: tuple[Path, Path], tool) -> None:
    tool("openssl")
    done = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(keys[1]), "-rawin",
         "-in", str(release / SUMS_FILE), "-sigfile", str(release / SIGNATURE_FILE)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout
    check = subprocess.run(["sha256sum", "-c", SUMS_FILE], cwd=release, capture_output=True)
    assert check.returncode == 0


def test_cli_verify_release(release: Path, keys: tuple[Path, Path]) -> None:
    runner = CliRunner()
    good = runner.invoke(cli, ["verify", str(release), "--key", str(keys[1]), "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["ok"] is True
    no_key = runner.invoke(cli, ["verify", str(release)])
    assert no_key.exit_code == 2 and "--key" in no_key.output
    (release / SIGNATURE_FILE).write_bytes(bytes(64))
    bad = runner.invoke(cli, ["verify", str(release), "--key", str(keys[1])])
    assert bad.exit_code == 1 and "do not install this release" in bad.stderr
