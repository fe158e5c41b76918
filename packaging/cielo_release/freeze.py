"""Build the one-folder app with PyInstaller, strip it, add notices and SBOM, report sizes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cielo_release.contents import CONTENTS_FILE, read_contents
from cielo_release.notices import write_notices
from cielo_release.sbom import write_sbom

PACKAGING = Path(__file__).resolve().parent.parent
ROOT = PACKAGING.parent
SPEC = PACKAGING / "cielo.spec"
SBOM_FILE = "sbom.cdx.json"
REPORT_FILE = "frozen-report.json"
ELF_MAGIC = b"\x7fELF"


def app_version() -> str:
    """Cielo's version, read from the source tree (``app/__init__.py``)."""
    namespace: dict = {}
    exec((ROOT / "app" / "__init__.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def folder_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def strip_binaries(folder: Path) -> int:
    """Strip debug symbols from ELF libraries (Linux); returns the bytes saved.

    Libraries in ``*.libs`` folders are left alone: auditwheel patched them, and stripping
    such files breaks their loading (numpy's OpenBLAS does).
    """
    if not sys.platform.startswith("linux") or not shutil.which("strip"):
        return 0
    saved = 0
    for path in sorted(folder.rglob("*")):
        if (path.is_symlink() or not path.is_file() or path.stat().st_size < 1 << 20
                or any(part.endswith(".libs") for part in path.parts)):
            continue
        with path.open("rb") as fh:
            if fh.read(4) != ELF_MAGIC:
                continue
        before = path.stat().st_size
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
        saved += before - path.stat().st_size
    return saved


def freeze(dist: Path, work: Path) -> dict:
    """Build ``dist/cielo`` from ``packaging/cielo.spec``; returns the build report.

    The report (also written to ``work/frozen-report.json``) lists the excluded modules, the
    Python distributions inside, the unpacked size and the largest parts.
    """
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--log-level=ERROR",
         "--distpath", str(dist), "--workpath", str(work)],
        check=True, cwd=ROOT,
    )
    folder = dist / "cielo"
    saved = strip_binaries(folder)
    version = app_version()
    contents = json.loads((work / "cielo" / CONTENTS_FILE).read_text(encoding="utf-8"))
    dists, libraries = read_contents(contents)
    write_notices(folder, dists, libraries)
    shutil.copyfile(ROOT / "NOTICE", folder / "NOTICE")
    write_sbom(folder / SBOM_FILE, version, dists, libraries)
    internal = folder / "_internal"
    parts = {p.name: folder_size(p) if p.is_dir() else p.stat().st_size
             for p in internal.iterdir() if not p.is_symlink()}
    report = {
        "version": version,
        "platform": sys.platform,
        "python": sys.version.split()[0],
        "build_seconds": round(time.perf_counter() - started, 1),
        "unpacked_bytes": folder_size(folder),
        "stripped_bytes": saved,
        "largest_parts": dict(sorted(parts.items(), key=lambda kv: -kv[1])[:15]),
        "excluded_modules": contents["excluded"],
        "distributions": {d.name: d.version for d in dists},
        "system_libraries": len(libraries),
    }
    (work / REPORT_FILE).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report

