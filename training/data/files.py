"""File helpers for the data builder: atomic text writes and JSON Lines reading (hashes:
``file_sha256``)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


@contextmanager
def atomic_text_writer(path: Path) -> Iterator[TextIO]:
    """Open a UTF-8 temp file beside ``path`` (LF line ends) and move it into place with
    ``os.replace`` when the block succeeds; on error the temp file is removed.

    Example: ``with atomic_text_writer(out / "card.md") as fh: fh.write(text)``
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a UTF-8 JSON Lines file.

    Raises:
        ValueError: a line is not JSON (the message gives the file and line).

    Example: ``for number, obj in json_lines(Path("out/examples.jsonl")): ...``
    """
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc})") from exc
