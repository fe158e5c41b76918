"""File helpers for the data builder: atomic text writes (hashes: ``file_sha256``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


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
