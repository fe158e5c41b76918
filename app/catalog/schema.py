"""The catalog database schema (one SQLite file per edition)."""

from __future__ import annotations

import sqlite3

#: Bump when the schema changes; stores refuse files of another version with a clear message.
SCHEMA_VERSION = 1

#: FTS5 tokenizer: Spanish matches with or without accents; prefixes for type-ahead.
FTS_TOKENIZE = "unicode61 remove_diacritics 2"
FTS_PREFIX = "2 3 4"

DDL = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent TEXT,
    chapter TEXT,
    block TEXT,
    category TEXT,
    depth INTEGER NOT NULL,
    valid INTEGER NOT NULL,
    title_en TEXT NOT NULL,
    title_es TEXT,
    title_es_source TEXT,
    title_es_from TEXT,
    seventh_from TEXT
);
CREATE INDEX codes_parent ON codes(parent);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX notes_code ON notes(code);
CREATE TABLE seventh_chars (
    code TEXT NOT NULL,
    char TEXT NOT NULL,
    meaning TEXT NOT NULL,
    PRIMARY KEY (code, char)
);
CREATE TABLE aliases (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    text TEXT NOT NULL,
    norm TEXT NOT NULL,
    source TEXT NOT NULL,
    count INTEGER NOT NULL,
    source_code TEXT NOT NULL,
    UNIQUE (norm, code, source)
);
CREATE INDEX aliases_norm ON aliases(norm);
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    field TEXT NOT NULL,
    source TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    text TEXT NOT NULL
);
CREATE VIRTUAL TABLE search_fts USING fts5(
    text, content='search_docs', content_rowid='id',
    tokenize='{FTS_TOKENIZE}', prefix='{FTS_PREFIX}'
);
"""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table of an empty catalog database.

    Example: ``create_schema(sqlite3.connect(":memory:"))``
    """
    conn.executescript(DDL)
