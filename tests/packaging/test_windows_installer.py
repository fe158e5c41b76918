"""The Windows installer script compiles with NSIS and is Authenticode-signed by the scripted
osslsigncode step, here with a throwaway test certificate."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import PACKAGING


@pytest.fixture()
def installer(tmp_path: Path, tool) -> Path:
    """The installer of a miniature app folder laid out like PyInstaller's."""
    tool("makensis")
    dist = tmp_path / "dist" / "cielo"
    (dist / "_internal" / "resources").mkdir(parents=True)
    for name in ("cielo.exe", "cielo-gui.exe", "NOTICE", "THIRD_PARTY_NOTICES.txt"):
        (dist / name).write_bytes(os.urandom(2048))
    (dist / "_internal" / "resources" / "manifest.json").write_text("{}")
    out = tmp_path / "cielo-setup-0.1.0.exe"
    subprocess.run(["makensis", "-V2", "-DVERSION=0.1.0", f"-DDIST={dist}", f"-DOUTFILE={out}",
                    str(PACKAGING / "windows" / "cielo.nsi")], check=True, capture_output=True)
    assert out.read_bytes()[:2] == b"MZ"  # a Windows PE executable
    return out


@pytest.fixture()
def test_certificate(tmp_path: Path, tool) -> tuple[Path, Path]:
    """A self-signed code-signing certificate (PKCS#12, password "test") and its PEM."""
    tool("openssl")
    key, cert, p12 = tmp_path / "key.pem", tmp_path / "cert.pem", tmp_path / "cert.p12"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=Cielo test signing",
                    "-addext", "extendedKeyUsage=codeSigning"], check=True, capture_output=True)
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(key), "-in", str(cert),
                    "-out", str(p12), "-passout", "pass:test"], check=True, capture_output=True)
    return p12, cert


def test_installer_is_signed_and_verifies(installer: Path, test_certificate, tool) -> None:
    tool("osslsigncode")
    p12, cert = test_certificate
    signed = installer.with_name("signed.exe")
    env = {**os.environ, "CIELO_PFX_PASSWORD": "test", "CIELO_CA_FILE": str(cert)}
    done = subprocess.run(
        ["bash", str(PACKAGING / "windows" / "sign-authenticode.sh"), str(installer),
         str(signed), str(p12)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Signature verification: ok" in done.stdout
    assert "test" not in done.stdout.split("Signer")[0]  # the password is never echoed
    # the unsigned installer has no signature to verify
    unsigned = subprocess.run(["osslsigncode", "verify", "-in", str(installer)],
                              capture_output=True, text=True)
    assert unsigned.returncode != 0


def test_signing_script_needs_its_password(installer: Path, test_certificate) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CIELO_PFX_PASSWORD"}
    done = subprocess.run(
        ["bash", str(PACKAGING / "windows" / "sign-authenticode.sh"), str(installer),
         str(installer.with_name("x.exe")), str(test_certificate[0])],
        env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "CIELO_PFX_PASSWORD" in done.stderr
