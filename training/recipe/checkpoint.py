"""The run's checkpoint: one JSON line per finished task, appended and fsynced batch by
batch, so a killed run loses at most the batch in flight and resumes where it stopped."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.atomic import atomic_text_writer

logger = logging.getLogger(__name__)

OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class TaskResult:
    """What one task produced.

    Attributes:
        task: the task id.
        code: the code asked about.
        language: the mentions' language.
        status: ``ok`` or ``failed`` (malformed after every attempt).
        attempts: tries used.
        reply: the parsed reply (``Reply.to_dict()``) when ok.
        errors: why each malformed attempt was rejected.
        prompt_tokens: tokens sent, all attempts.
        completion_tokens: tokens received, all attempts.
    """

    task: str
    code: str
    language: str
    status: str
    attempts: int
    reply: dict | None
    errors: tuple[str, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Checkpoint:
    """``generated.jsonl`` in a run folder.

    Example: ``done = Checkpoint(out / "generated.jsonl").load()``
    """

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, TaskResult]:
        """Results by task id. A last line cut off by a kill is removed from the file (its
        task is redone); any other bad line is an error.

        Raises:
            ValueError: a corrupt line before the last one.
        """
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        complete = raw.rfind(b"\n") + 1
        if complete < len(raw):
            logger.warning("%s: dropping a line cut off mid-write (%d bytes); its task is redone",
                           self.path, len(raw) - complete)  # fmt: skip
            with self.path.open("r+b") as fh:
                fh.truncate(complete)
        results: dict[str, TaskResult] = {}
        for number, line in enumerate(raw[:complete].splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                result = TaskResult(**{**obj, "errors": tuple(obj.get("errors", ()))})
            except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
                raise ValueError(f"{self.path}:{number}: corrupt checkpoint line ({exc})") from exc
            results[result.task] = result
        return results

    def append(self, results: Iterable[TaskResult]) -> None:
        """Append results and fsync (a crash after this keeps them)."""
        lines = _lines(results)
        if not lines:
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())

    def rewrite(self, results: Iterable[TaskResult]) -> None:
        """Replace the file's contents (dropping results of tasks no longer planned)."""
        with atomic_text_writer(self.path) as fh:
            fh.write(_lines(results))


def _lines(results: Iterable[TaskResult]) -> str:
    return "".join(
        json.dumps(asdict(r), ensure_ascii=False, separators=(",", ":")) + "\n" for r in results
    )
