"""Integrity of the bundled resources against ``resources/manifest.json``.

The manifest lists every file the runtime reads from ``resources/`` (models, vector index,
catalog sources, lexicons) with its size and SHA-256; documentation (``*.md``, ``NOTICE``,
which packaging copies in) is not listed.
The CLI and the desktop app check it at start-up and refuse to run on tampered, missing or
extra files; ``cielo verify`` prints every finding. A check hashes about 80 MB (~0.2 s); each
file's digest is remembered for the process while its inode, size and times stay the same,
so the encoder's digest serves the index check too (:func:`cached_file_sha256`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.atomic import atomic_text_writer
from app.errors import ResourcesTampered
from app.paths import resources_dir

MANIFEST_FILE = "manifest.json"
UNLISTED_SUFFIXES = frozenset({".md"})
UNLISTED_NAMES = frozenset({MANIFEST_FILE, "NOTICE"})

def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB blocks.

    Example: ``len(file_sha256(Path("resources/model/encoder.onnx"))) == 64``
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _sha256_of_version(path: Path, _ino: int, _size: int, _mtime_ns: int, _ctime_ns: int) -> str:
    return file_sha256(path)


def cached_file_sha256(path: Path) -> str:
    """:func:`file_sha256`, remembered per file version for the process.

    The version is the inode, size, modification and change times: a rewrite that restores
    the size and mtime still changes the change time (POSIX), so tampering is never masked.
    """
    path = path.resolve()
    stat = path.stat()
    return _sha256_of_version(path, stat.st_ino, stat.st_size, stat.st_mtime_ns,
                              stat.st_ctime_ns)


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, following linked folders (test and portable layouts)."""
    return [Path(top) / name for top, _dirs, names in os.walk(root, followlinks=True)
            for name in names]


def resource_files(root: Path) -> list[str]:
    """Files the manifest must list: every file under ``root`` (POSIX paths, sorted) except
    the manifest itself and documentation.

    Example: ``"model/encoder.onnx" in resource_files(resources_dir())``
    """
    return sorted(
        path.relative_to(root).as_posix()
        for path in _walk(root)
        if path.is_file() and path.name not in UNLISTED_NAMES
        and path.suffix not in UNLISTED_SUFFIXES
    )


def hash_resources(root: Path) -> dict[str, dict[str, str | int]]:
    """``{"files": {path: sha256}, "sizes": {path: bytes}}`` of :func:`resource_files`."""
    names = resource_files(root)
    return {
        "files": {name: file_sha256(root / name) for name in names},
        "sizes": {name: (root / name).stat().st_size for name in names},
    }


def write_manifest(root: Path, extra: dict) -> dict:
    """Write ``root/manifest.json``: the hashes of every resource file plus ``extra``.

    Keys of ``extra`` other than ``files`` and ``sizes`` are kept as given (bundle name,
    training settings, versions).
    """
    manifest = {**hash_resources(root), **{k: v for k, v in extra.items()
                                           if k not in ("files", "sizes")}}
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    with atomic_text_writer(root / MANIFEST_FILE) as fh:
        fh.write(text)
    return manifest


@dataclass(frozen=True)
class Finding:
    """One file that fails the check.

    Attributes:
        path: the file, relative to the resources folder.
        problem: ``missing``, ``modified``, ``not in the manifest`` or why the manifest is
            unusable.
    """

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path} ({self.problem})"


def read_manifest(root: Path) -> dict:
    """The parsed manifest. Raises ``ResourcesTampered`` when it is missing or malformed."""
    path = root / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResourcesTampered(_message(root, [Finding(MANIFEST_FILE, "missing")])) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResourcesTampered(
            _message(root, [Finding(MANIFEST_FILE, f"unreadable: {exc}")])
        ) from None
    files, sizes = manifest.get("files"), manifest.get("sizes")
    if not isinstance(files, dict) or not isinstance(sizes, dict) or set(files) != set(sizes):
        raise ResourcesTampered(
            _message(root, [Finding(MANIFEST_FILE, "malformed: 'files' and 'sizes' differ")])
        )
    return manifest


def check_resources(root: Path | None = None) -> tuple[list[str], list[Finding]]:
    """Compare the resources folder with its manifest.

    Returns:
        ``(checked, findings)``: the listed files, and every problem (empty: intact).

    Raises:
        ResourcesTampered: the manifest itself is missing or malformed.
    """
    root = root or resources_dir()
    manifest = read_manifest(root)
    files, sizes = manifest["files"], manifest["sizes"]
    findings = [Finding(name, "not in the manifest")
                for name in resource_files(root) if name not in files]
    for name, expected in sorted(files.items()):
        path = root / name
        if not path.is_file():
            findings.append(Finding(name, "missing"))
        elif path.stat().st_size != sizes[name] or cached_file_sha256(path) != expected:
            findings.append(Finding(name, "modified"))
    return sorted(files), findings


def _message(root: Path, findings: Iterable[Finding]) -> str:
    findings = list(findings)
    shown = ", ".join(str(f) for f in findings[:5])
    more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
    return (
        f"Cielo's resources in {root} fail their integrity check: {shown}{more}. "
        "Reinstall Cielo from a verified package; `cielo verify` lists every file."
    )


def ensure_resources_intact(root: Path | None = None) -> None:
    """Refuse to go on when the resources fail :func:`check_resources`.

    Raises:
        ResourcesTampered: with a message naming the first files that fail.
    """
    root = (root or resources_dir()).resolve()
    _checked, findings = check_resources(root)
    if findings:
        raise ResourcesTampered(_message(root, findings))
