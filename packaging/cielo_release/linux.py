"""Linux packages of the frozen app: a reproducible tarball and a ``.deb`` (``/opt/cielo``)."""

from __future__ import annotations

import gzip
import hashlib
import os
import platform
import shutil
import subprocess
import tarfile
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent.parent
INSTALL_DIR = "opt/cielo"
#: System libraries the frozen GUI loads that PyInstaller leaves to the host (Qt's xcb/EGL).
DEB_DEPENDS = "libc6 (>= 2.34), libegl1, libgl1, libxkbcommon0, libxkbcommon-x11-0, " \
    "libfontconfig1, libdbus-1-3, libxcb-cursor0"


def _epoch() -> int:
    """Timestamp stamped on every packaged file (``SOURCE_DATE_EPOCH`` or 2026-01-01)."""
    return int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))


def debian_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def build_tarball(folder: Path, out: Path, version: str) -> Path:
    """``cielo-<version>-linux-<arch>.tar.gz`` holding ``cielo/``; byte-identical for the same
    input (sorted entries, fixed owner and timestamp)."""
    target = out / f"cielo-{version}-linux-{platform.machine()}.tar.gz"
    epoch = _epoch()

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = epoch
        return info

    tmp = target.with_suffix(".tmp")
    with open(tmp, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=epoch) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [folder, *sorted(folder.rglob("*"))]:
            tar.add(path, arcname=str(Path("cielo") / path.relative_to(folder)),
                    recursive=False, filter=normalise)
    tmp.replace(target)
    return target


def _control(version: str, installed_kib: int) -> str:
    return (
        "Package: cielo\n"
        f"Version: {version}\n"
        f"Architecture: {debian_arch()}\n"
        "Maintainer: Cielo developers <cielo@localhost>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {DEB_DEPENDS}\n"
        "Section: science\n"
        "Priority: optional\n"
        "Description: offline CIE-10-ES (Spanish ICD-10-CM) diagnosis coding assistant\n"
        " Finds diagnosis codes for clinical text with local models; never uses the network.\n"
        " The app is installed in /opt/cielo; `cielo` is linked into /usr/bin.\n"
    )


def build_deb(folder: Path, out: Path, version: str, work: Path) -> Path:
    """``cielo_<version>_<arch>.deb``: the app in ``/opt/cielo``, ``/usr/bin/cielo``, a desktop
    entry, the copyright notices and ``md5sums`` (for ``dpkg --verify``)."""
    root = work / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(folder, root / INSTALL_DIR, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/cielo").symlink_to(f"/{INSTALL_DIR}/cielo")
    (root / "usr/share/applications").mkdir(parents=True)
    shutil.copyfile(PACKAGING / "linux" / "cielo.desktop",
                    root / "usr/share/applications/cielo.desktop")
    doc = root / "usr/share/doc/cielo"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        (folder / "NOTICE").read_text(encoding="utf-8")
        + "\nThird-party notices: /opt/cielo/THIRD_PARTY_NOTICES.txt\n", encoding="utf-8")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    debian = root / "DEBIAN"
    debian.mkdir()
    (debian / "md5sums").write_text("".join(
        f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}\n"
        for p in files), encoding="utf-8")
    installed_kib = sum(p.stat().st_size for p in files) // 1024 + 1
    (debian / "control").write_text(_control(version, installed_kib), encoding="utf-8")
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            os.utime(path, (_epoch(), _epoch()))
    target = out / f"cielo_{version}_{debian_arch()}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(target)],
        check=True, capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": str(_epoch())},
    )
    shutil.rmtree(root)
    return target
