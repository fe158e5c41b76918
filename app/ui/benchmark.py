"""Benchmark the desktop app as a coder meets it: launch, first results, typing latency.

Each run starts a fresh process (models not loaded; the OS file cache may be warm), which
reports: seconds from launch to the window's first paint, to the first results of a query
typed at once, and the event loop's lag while a list of queries is typed key by key at a
coder's pace. The lag is measured with a 10 ms heartbeat timer: a heartbeat that arrives
late by more than 100 ms is a UI stall the coder would feel.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from app.atomic import atomic_text_writer

#: Queries typed in the benchmark: how coders type (abbreviations, lost accents, codes).
QUERIES: tuple[str, ...] = (
    "fractura pertrocanterea de cadera derecha",
    "IAM anterior",
    "diabetes mellitus tipo 2 con nefropatia",
    "neumonia por neumococo",
    "s72.0",
    "insuficiencia cardiaca congestiva",
    "HTA",
    "infeccion del tracto urinario",
    "carcinoma de mama izquierda",
    "EPOC reagudizado",
)
HEARTBEAT_MS = 10
STALL_MS = 100.0


def _percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0.0 when empty."""
    return float(np.percentile(values, q, method="inverted_cdf")) if values else 0.0


def _stats_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(_percentile(values, 50), 1),
        "p95": round(_percentile(values, 95), 1),
        "p99": round(_percentile(values, 99), 1),
        "max": round(max(values, default=0.0), 1),
    }


def run_child(t0: float, key_interval_ms: int, queries: tuple[str, ...] = QUERIES) -> dict:
    """Launch the window in this process, type ``queries``, return the measurements.

    ``t0`` is the parent's ``time.time()`` just before it started this process.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.ui.app import create_window, filter_qt_messages

    imported = time.time() - t0
    filter_qt_messages()  # a failure's last stderr line is then the failure, not Qt chatter
    app = QApplication.instance() or QApplication(sys.argv[:1])
    view, controller = create_window(userdata_path=None)  # benchmark writes no history
    marks: dict[str, float] = {"imports_s": imported}

    class FirstPaint(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint and "window_visible_s" not in marks:
                marks["window_visible_s"] = time.time() - t0
            return False

    painter = FirstPaint()
    view.installEventFilter(painter)
    view.resize(1280, 800)
    view.show()
    view.search_box.setText(queries[0])
    lags: list[float] = []
    per_query: list[float] = []
    beat = {"last": time.perf_counter(), "on": False}

    def heartbeat() -> None:
        now = time.perf_counter()
        if beat["on"]:
            lags.append(max(0.0, (now - beat["last"]) * 1000 - HEARTBEAT_MS))
        beat["last"] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(heartbeat)
    timer.start()
    plan = list(queries)
    state = {"typed_at": 0.0, "typing": False}

    def type_next() -> None:
        if not plan:
            beat["on"] = False
            app.quit()
            return
        text = plan.pop(0)
        view.search_box.clear()
        state["typing"] = True
        beat["on"] = True

        def key(i: int = 0) -> None:
            if i < len(text):
                QTest.keyClicks(view.search_box, text[i])
                QTimer.singleShot(key_interval_ms, lambda: key(i + 1))
            else:
                state["typed_at"] = time.perf_counter()
                state["typing"] = False

        key()

    def on_results(_n: int) -> None:
        if "first_results_s" not in marks:
            marks["first_results_s"] = time.time() - t0
            QTimer.singleShot(300, type_next)
            return
        final = view.search_box.text() and not state["typing"]
        if final and not controller.search.timer.isActive() and state["typed_at"]:
            per_query.append((time.perf_counter() - state["typed_at"]) * 1000)
            state["typed_at"] = 0.0
            QTimer.singleShot(300, type_next)

    controller.ready.connect(lambda: marks.setdefault("ready_s", time.time() - t0))
    controller.failed.connect(lambda _m: app.exit(3))
    controller.search.results_shown.connect(on_results)
    QTimer.singleShot(0, controller.start)
    QTimer.singleShot(300_000, lambda: app.exit(4))
    code = app.exec()
    if code:
        raise RuntimeError(f"benchmark run failed (exit {code}): catalog error or timeout")
    return {
        **{k: round(v, 3) for k, v in marks.items()},
        "typing_lag_ms": _stats_ms(lags),
        "stalls_over_100ms": sum(1 for lag in lags if lag > STALL_MS),
        "last_key_to_results_ms": _stats_ms(per_query),
    }


def _child_command(key_interval_ms: int, queries: int) -> list[str]:
    """How to start this benchmark's child: the frozen executable or ``python -m``."""
    args = ["bench", "ui", "--child", "--key-interval", str(key_interval_ms),
            "--queries", str(queries)]
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "app.cli.main", *args]


def run_benchmark(runs: int = 3, key_interval_ms: int = 120, queries: int = len(QUERIES)) -> dict:
    """Run ``runs`` fresh processes, each typing the first ``queries`` of :data:`QUERIES`,
    and summarise them (JSON-ready).

    Raises:
        RuntimeError: a run failed (its stderr's last line is in the message).
    """
    results = []
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    for _ in range(runs):
        t0 = time.time()
        proc = subprocess.run(
            [*_child_command(key_interval_ms, queries), "--t0", repr(t0)],
            capture_output=True, text=True, env=env, check=False,
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"benchmark run failed (exit {proc.returncode}): {tail}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in results), 3)

    return {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "qt_platform": env["QT_QPA_PLATFORM"],
        },
        "key_interval_ms": key_interval_ms,
        "heartbeat_ms": HEARTBEAT_MS,
        "queries": queries,
        "summary": {
            "window_visible_s_median": median("window_visible_s"),
            "first_results_s_median": median("first_results_s"),
            "ready_s_median": median("ready_s"),
            "typing_lag_ms_max": max(r["typing_lag_ms"]["max"] for r in results),
            "typing_lag_ms_p99_max": max(r["typing_lag_ms"]["p99"] for r in results),
            "stalls_over_100ms": sum(r["stalls_over_100ms"] for r in results),
        },
        "runs": results,
    }


def write_report(report: dict, output: Path) -> None:
    """Write the report as JSON (atomically)."""
    with atomic_text_writer(output) as fh:
        fh.write(json.dumps(report, indent=2) + "\n")

