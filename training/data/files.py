"""File helpers for the data builder: JSON Lines reading (atomic writes: ``app.atomic``;
hashes: ``file_sha256``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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
