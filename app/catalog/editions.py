"""Catalog editions in the user's data folder, replaced atomically.

A new edition is built aside into a uniquely named file, verified, and only then made
active by atomically replacing the small ``active.json`` pointer. A malformed file or a
process killed mid-build therefore never touches the active catalog; leftovers of a killed
build are removed the next time a build starts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.catalog.build import BuildReport
from app.catalog.schema import SCHEMA_VERSION
from app.errors import CatalogCorrupt, CatalogNotFound, InvalidEditionName

log = logging.getLogger(__name__)

POINTER = "active.json"
#: What an edition name may be (it becomes part of a file name).
EDITION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_EDITION_RE = re.compile(rf"^{EDITION_PATTERN}$")


@dataclass(frozen=True)
class ActiveCatalog:
    """The active edition: its name and database file."""

    edition: str
    path: Path


def validate_edition_name(name: str) -> str:
    """Return ``name`` if it is a safe edition name (letters, digits, ``.``, ``_``, ``-``).

    Raises:
        InvalidEditionName: otherwise.

    Example: ``validate_edition_name("cie10es-2024") == "cie10es-2024"``
    """
    if not _EDITION_RE.match(name):
        raise InvalidEditionName(
            f"invalid edition name {name!r}: use 1-64 letters, digits, '.', '_' or '-'"
        )
    return name


def suggest_edition_name(path: Path) -> str:
    """A valid edition name made from a file name (accents dropped, other unsafe characters
    become ``-``).

    Example: ``suggest_edition_name(Path("CIE 10 ES 2024.tsv")) == "CIE-10-ES-2024"``
    """
    ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem).strip("-._")[:64].rstrip("-._")
    return name or "importado"


def verify_catalog(path: Path) -> dict[str, int]:
    """Check a catalog file: SQLite integrity, schema version, codes, parents and FTS.

    Returns:
        ``{"codes": n, "valid": n, "aliases": n}``.

    Raises:
        CatalogCorrupt: any check fails (the message says which).

    Example: ``verify_catalog(Path("icd10cm-2026.db"))["codes"] > 0``
    """
    if not path.is_file():
        raise CatalogCorrupt(f"{path}: no such file")
    try:
        # read-write: FTS5's integrity-check is issued as an INSERT (it changes nothing)
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise CatalogCorrupt(f"{path}: cannot open as SQLite ({exc})") from exc
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise CatalogCorrupt(f"{path}: SQLite integrity check failed")
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if not version or int(version[0]) != SCHEMA_VERSION:
            raise CatalogCorrupt(
                f"{path}: schema version {version[0] if version else None}, expected "
                f"{SCHEMA_VERSION}; rebuild it with `cielo catalog build`"
            )
        codes, valid = conn.execute("SELECT count(*), sum(valid) FROM codes").fetchone()
        if not codes or not valid:
            raise CatalogCorrupt(f"{path}: no codes")
        orphans = conn.execute(
            "SELECT count(*) FROM codes c WHERE c.parent IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM codes p WHERE p.code = c.parent)"
        ).fetchone()[0]
        if orphans:
            raise CatalogCorrupt(f"{path}: {orphans} code(s) with a missing parent")
        docs = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
        conn.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH '\"a\"' LIMIT 1")
        conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")
        aliases = conn.execute("SELECT count(*) FROM aliases").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise CatalogCorrupt(f"{path}: not a valid Cielo catalog ({exc})") from exc
    finally:
        conn.close()
    return {"codes": codes, "valid": valid, "aliases": aliases, "search_docs": docs}


class EditionManager:
    """Builds, verifies and activates catalog editions under ``root``.

    Example: ``EditionManager(data_dir() / "catalogs").install("x", builder)``
    """

    def __init__(self, root: Path):
        self.root = root

    @property
    def pointer(self) -> Path:
        """The ``active.json`` file naming the active edition."""
        return self.root / POINTER

    def active(self) -> ActiveCatalog:
        """The active edition.

        Raises:
            CatalogNotFound: none has been built or the pointer names a missing file.
        """
        try:
            data = json.loads(self.pointer.read_text(encoding="utf-8"))
            active = ActiveCatalog(data["edition"], self.root / data["file"])
        except FileNotFoundError as exc:
            raise CatalogNotFound(
                f"no catalog in {self.root}; run `cielo catalog build`"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise CatalogCorrupt(
                f"{self.pointer} is unreadable ({exc}); run `cielo catalog build`"
            ) from exc
        if not active.path.exists():
            raise CatalogNotFound(
                f"active catalog file {active.path} is missing; run `cielo catalog build`"
            )
        return active

    def install(self, edition: str, builder: Callable[[Path], BuildReport]) -> BuildReport:
        """Build an edition aside with ``builder(path)``, verify it, then activate it.

        On any failure the partial file is removed and the previous edition stays active.

        Raises:
            CatalogCorrupt: the built file failed verification.
        """
        validate_edition_name(edition)
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        final = self.root / f"{edition}-{uuid.uuid4().hex[:12]}.db"
        building = final.with_suffix(".building")
        try:
            report = builder(building)
            verify_catalog(building)
            os.replace(building, final)
        except BaseException:
            building.unlink(missing_ok=True)
            raise
        previous = self._pointed_file()
        self._write_pointer(edition, final.name)
        if previous is not None and previous != final:
            self._try_remove(previous)
        log.info("activated edition %s (%s)", edition, final.name)
        return report

    def _pointed_file(self) -> Path | None:
        try:
            return self.active().path
        except (CatalogNotFound, CatalogCorrupt):
            return None

    def _write_pointer(self, edition: str, file_name: str) -> None:
        tmp = self.root / f".{POINTER}.{uuid.uuid4().hex[:8]}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump({"edition": edition, "file": file_name}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)

    def _remove_leftovers(self) -> None:
        for leftover in [*self.root.glob("*.building"), *self.root.glob(f".{POINTER}.*.tmp")]:
            self._try_remove(leftover)
        active = self._pointed_file()
        for stale in self.root.glob("*.db"):
            if stale != active:
                self._try_remove(stale)

    @staticmethod
    def _try_remove(path: Path) -> None:
        try:
            path.unlink()
        except OSError as exc:  # e.g. still open by another process on Windows
            log.warning("could not remove %s: %s", path.name, exc)
