"""The generation loop: retries of malformed replies, checkpoints, resumption after a kill."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from training.recipe.backends import Completion
from training.recipe.checkpoint import FAILED, OK, Checkpoint, TaskResult
from training.recipe.generate import generate, run_batch
from training.recipe.prompts import Task


def _good(task: Task) -> str:
    return json.dumps({"mentions": [{"text": f"mención de {task.context.code}",
                                     "style": task.styles[0]}]})  # fmt: skip


class Scripted:
    """Garbage on the first ``bad_attempts`` attempts, then a valid reply; after
    ``kill_after`` batches it raises (a killed process)."""

    name = "scripted"
    languages = ("es", "en")

    def __init__(self, bad_attempts: int = 0, kill_after: int | None = None):
        self.bad_attempts = bad_attempts
        self.kill_after = kill_after
        self.asked: list[tuple[str, int]] = []
        self.batches = 0

    def describe(self) -> dict:
        return {"kind": self.name}

    def supports(self, task: Task) -> bool:
        return True

    def complete(self, tasks: Sequence[Task], attempt: int) -> list[Completion]:
        if attempt == 1:
            if self.batches == self.kill_after:
                raise KeyboardInterrupt
            self.batches += 1
        self.asked += [(t.id, attempt) for t in tasks]
        return [
            Completion("Sorry, no JSON." if attempt <= self.bad_attempts else _good(t), 10, 5)
            for t in tasks
        ]


def test_malformed_replies_are_asked_again(tasks: list[Task]) -> None:
    results = run_batch(Scripted(bad_attempts=1), tasks[:3], max_attempts=3)
    assert [r.status for r in results] == [OK] * 3
    assert [r.attempts for r in results] == [2] * 3
    assert results[0].errors == ("no JSON object in the reply",)
    assert results[0].prompt_tokens == 20 and results[0].completion_tokens == 10


def test_a_task_malformed_every_time_fails_with_its_reasons(tasks: list[Task]) -> None:
    (result,) = run_batch(Scripted(bad_attempts=9), tasks[:1], max_attempts=3)
    assert result.status == FAILED and result.reply is None
    assert len(result.errors) == 3


def test_a_killed_run_resumes_without_redoing_finished_batches(
    tasks: list[Task], tmp_path: Path
) -> None:
    checkpoint = Checkpoint(tmp_path / "generated.jsonl")
    killed = Scripted(kill_after=2)
    with pytest.raises(KeyboardInterrupt):
        generate(tasks, killed, checkpoint, batch_size=2, max_attempts=2, progress=False)
    assert len(checkpoint.load()) == 4  # two batches of two were saved
    resumed = Scripted()
    results, stats = generate(tasks, resumed, checkpoint, batch_size=2, max_attempts=2,
                              progress=False)  # fmt: skip
    assert stats.resumed == 4 and stats.generated == len(tasks) - 4
    assert {i for i, _ in resumed.asked} == {t.id for t in tasks[4:]}
    assert set(results) == {t.id for t in tasks}
    assert all(r.status == OK for r in results.values())


def test_failed_tasks_are_retried_only_when_asked(tasks: list[Task], tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "generated.jsonl")
    generate(tasks[:2], Scripted(bad_attempts=5), checkpoint, batch_size=2, max_attempts=1,
             progress=False)  # fmt: skip
    again = Scripted()
    _, stats = generate(tasks[:2], again, checkpoint, batch_size=2, max_attempts=1, progress=False)
    assert again.asked == [] and stats.resumed == 2
    results, stats = generate(tasks[:2], again, checkpoint, batch_size=2, max_attempts=1,
                              retry_failed=True, progress=False)  # fmt: skip
    assert stats.generated == 2 and all(r.status == OK for r in results.values())


def test_results_of_tasks_no_longer_planned_are_dropped(tasks: list[Task], tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "generated.jsonl")
    generate(tasks[:4], Scripted(), checkpoint, batch_size=4, max_attempts=1, progress=False)
    generate(tasks[2:4], Scripted(), checkpoint, batch_size=4, max_attempts=1, progress=False)
    assert set(checkpoint.load()) == {t.id for t in tasks[2:4]}


def _result(n: int) -> TaskResult:
    return TaskResult(f"t{n}", "I10", "es", OK, 1, {"mentions": [], "hard_negatives": []})


def test_a_line_cut_off_mid_write_is_dropped_and_redone(tmp_path: Path) -> None:
    path = tmp_path / "generated.jsonl"
    checkpoint = Checkpoint(path)
    checkpoint.append([_result(1), _result(2)])
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"task": "t3", "code": "I1')  # the process died here
    assert set(checkpoint.load()) == {"t1", "t2"}
    assert path.read_text(encoding="utf-8").endswith("}\n")
    checkpoint.append([_result(3)])
    assert set(checkpoint.load()) == {"t1", "t2", "t3"}


def test_a_corrupt_line_inside_the_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "generated.jsonl"
    Checkpoint(path).append([_result(1)])
    path.write_text("garbage\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ValueError, match="generated.jsonl:1: corrupt checkpoint line"):
        Checkpoint(path).load()
