"""The generation loop: batches of tasks through a backend, malformed replies retried,
results checkpointed after every batch, progress with throughput and ETA."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from training.recipe.backends import Backend
from training.recipe.checkpoint import FAILED, OK, Checkpoint, TaskResult
from training.recipe.prompts import MalformedReply, Task, parse_reply

logger = logging.getLogger(__name__)


@dataclass
class GenerationStats:
    """What this invocation of the loop did (resumed tasks are counted apart).

    Attributes:
        planned: tasks planned.
        resumed: tasks found done in the checkpoint.
        generated: tasks finished now.
        failed: tasks still malformed after every attempt (now).
        malformed: malformed replies (now, all attempts).
        attempts: tasks by attempts used (now).
        errors: malformed reasons (first words) -> count.
        prompt_tokens: tokens sent (now).
        completion_tokens: tokens received (now).
        seconds: wall time of the loop.
    """

    planned: int = 0
    resumed: int = 0
    generated: int = 0
    failed: int = 0
    malformed: int = 0
    attempts: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """JSON-ready form with rates."""
        rate = self.generated / self.seconds if self.seconds else 0.0
        return {
            "planned": self.planned, "resumed": self.resumed, "generated": self.generated,
            "failed": self.failed, "malformed_replies": self.malformed,
            "attempts": {str(k): v for k, v in sorted(self.attempts.items())},
            "malformed_reasons": dict(self.errors.most_common(10)),
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 1), "tasks_per_second": round(rate, 3),
            "completion_tokens_per_second": round(self.completion_tokens / self.seconds, 1)
            if self.seconds else 0.0,
        }  # fmt: skip


def run_batch(backend: Backend, batch: Sequence[Task], max_attempts: int) -> list[TaskResult]:
    """Results for ``batch``: each task is re-asked (attempt 2, 3 ...) while its reply is
    malformed, up to ``max_attempts``."""
    pending = list(batch)
    errors: dict[str, list[str]] = {t.id: [] for t in batch}
    tokens: Counter[tuple[str, str]] = Counter()
    done: dict[str, TaskResult] = {}
    for attempt in range(1, max_attempts + 1):
        if not pending:
            break
        completions = backend.complete(pending, attempt)
        retry = []
        for task, completion in zip(pending, completions, strict=True):
            tokens[(task.id, "prompt")] += completion.prompt_tokens
            tokens[(task.id, "completion")] += completion.completion_tokens
            try:
                reply = parse_reply(completion.text, task)
            except MalformedReply as exc:
                errors[task.id].append(str(exc))
                retry.append(task)
                continue
            done[task.id] = _result(task, OK, attempt, reply.to_dict(), errors, tokens)
        pending = retry
    for task in pending:
        done[task.id] = _result(task, FAILED, max_attempts, None, errors, tokens)
    return [done[t.id] for t in batch]


def _result(task, status, attempts, reply, errors, tokens) -> TaskResult:  # noqa: ANN001
    return TaskResult(
        task.id, task.context.code, task.language, status, attempts, reply,
        tuple(errors[task.id]), tokens[(task.id, "prompt")], tokens[(task.id, "completion")],
    )  # fmt: skip


def generate(
    tasks: Sequence[Task],
    backend: Backend,
    checkpoint: Checkpoint,
    *,
    batch_size: int,
    max_attempts: int,
    retry_failed: bool = False,
    progress: bool = True,
) -> tuple[dict[str, TaskResult], GenerationStats]:
    """Generate every task not in the checkpoint; returns all results of ``tasks`` by id.

    Results of tasks no longer planned (another selection, a changed prompt) are dropped
    from the checkpoint. With ``retry_failed`` failed tasks are asked again.
    """
    from tqdm import tqdm

    stats = GenerationStats(planned=len(tasks))
    saved = checkpoint.load()
    planned = {t.id for t in tasks}
    if set(saved) - planned:
        checkpoint.rewrite(r for r in saved.values() if r.task in planned)
    results = {k: v for k, v in saved.items() if k in planned}
    if retry_failed:
        results = {k: v for k, v in results.items() if v.status == OK}
    stats.resumed = len(results)
    pending = [t for t in tasks if t.id not in results]
    started = time.perf_counter()
    bar = tqdm(total=len(tasks), initial=len(results), unit="task", desc=f"recipe {backend.name}",
               disable=not progress, smoothing=0.1)  # fmt: skip
    try:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            finished = run_batch(backend, batch, max_attempts)
            checkpoint.append(finished)
            for result in finished:
                results[result.task] = result
                stats.generated += 1
                stats.failed += result.status == FAILED
                stats.malformed += len(result.errors)
                stats.attempts[result.attempts] += 1
                stats.errors.update(e.split(":")[0][:60] for e in result.errors)
                stats.prompt_tokens += result.prompt_tokens
                stats.completion_tokens += result.completion_tokens
            stats.seconds = time.perf_counter() - started
            bar.update(len(batch))
            speed = stats.completion_tokens / max(stats.seconds, 1e-9)
            bar.set_postfix(failed=stats.failed, malformed=stats.malformed, tok_s=f"{speed:.0f}")
    finally:
        bar.close()
        stats.seconds = time.perf_counter() - started
    logger.info("generated %d tasks (%d resumed, %d failed) in %.1f s", stats.generated,
                stats.resumed, stats.failed, stats.seconds)  # fmt: skip
    return results, stats
