"""Run a function on ``QThreadPool`` and deliver its result to the UI thread by signal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    """Signals of one background task; emitted from the pool thread, received on the UI thread."""

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(str, int, int)


class Worker(QRunnable):
    """A ``QRunnable`` calling ``func(*args, **kwargs)``; the result goes to ``signals.done``.

    An exception goes to ``signals.failed`` (and is logged) instead of dying in the pool
    thread. When ``with_progress`` is set, ``func`` gets a ``progress=(stage, done, total)``
    keyword that emits ``signals.progress``.

    Example: ``run_task(store.children, "S72", on_done=show_children)``
    """

    def __init__(
        self, func: Callable[..., Any], *args: Any, with_progress: bool = False, **kwargs: Any
    ):
        super().__init__()
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.signals = WorkerSignals()
        if with_progress:
            self.kwargs["progress"] = self.signals.progress.emit

    def run(self) -> None:
        """Call the function (in a pool thread)."""
        try:
            result = self.func(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - forwarded to the UI, which shows it
            if not _is_expected(exc):
                log.exception("background task %s failed", getattr(self.func, "__name__", "?"))
            self.signals.failed.emit(exc)
            return
        self.signals.done.emit(result)


def _is_expected(exc: Exception) -> bool:
    from app.errors import CieloError

    return isinstance(exc, CieloError)


_running: set[Worker] = set()


def run_task(
    func: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_failed: Callable[[Exception], None] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    pool: QThreadPool | None = None,
    **kwargs: Any,
) -> Worker:
    """Start ``func`` on the pool (default: the global one) and wire its callbacks.

    The worker is kept alive until it finishes. Callbacks run on the UI thread.
    """
    worker = Worker(func, *args, with_progress=on_progress is not None, **kwargs)
    worker.setAutoDelete(False)
    if on_done is not None:
        worker.signals.done.connect(on_done)
    if on_failed is not None:
        worker.signals.failed.connect(on_failed)
    if on_progress is not None:
        worker.signals.progress.connect(on_progress)
    worker.signals.done.connect(lambda _r, w=worker: _running.discard(w))
    worker.signals.failed.connect(lambda _e, w=worker: _running.discard(w))
    _running.add(worker)
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker


def wait_for_tasks(timeout_ms: int = 30000) -> bool:
    """Wait until the global pool is idle (tests, shutdown). Returns False on timeout."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
