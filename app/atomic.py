"""Write files aside and rename them into place: a failure never leaves a partial file.

Every file Cielo writes at a user's request (batch output, CSV export, screenshots, reports,
manifests) goes through :func:`atomic_path` or :func:`atomic_text_writer`; a file already at
the destination stays as it was until the new one is complete.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, moved onto it with ``os.replace`` when the block
    succeeds and removed when it fails (the parent folder is created if needed).

    Example: ``with atomic_path(out) as tmp: pixmap.save(str(tmp), "PNG")``
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # umask applies
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_text_writer(
    path: Path, encoding: str = "utf-8", newline: str | None = "\n"
) -> Iterator[TextIO]:
    """A text file open beside ``path`` (UTF-8, LF line ends unless told otherwise), synced
    and moved into place when the block succeeds; on error nothing changes at ``path``.

    Example: ``with atomic_text_writer(out / "card.md") as fh: fh.write(text)``
    """
    with atomic_path(path) as tmp, tmp.open("w", encoding=encoding, newline=newline) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
