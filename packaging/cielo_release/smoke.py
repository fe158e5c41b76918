"""Smoke test of a frozen build: version, search --json, offscreen screenshot, resource
verification, refusal of tampered resources, and search with no network at all.

Every check runs the frozen executable in a fresh data folder; the result is a JSON-ready
report (``python packaging/make.py smoke``). Queries are fixed examples, never patient text.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

QUERY = "fractura del cuello del fémur"
EXPECTED_CATEGORY = "S72"
TAMPERED_FILE = Path("_internal/resources/abbreviations.tsv")


def _run(cmd: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def isolated_network_available() -> bool:
    """Whether ``unshare -n`` can make a network namespace here (root, or user namespaces)."""
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def _search_ok(stdout: str) -> tuple[bool, str]:
    try:
        results = json.loads(stdout)["results"]
    except (ValueError, KeyError):
        return False, "no JSON results"
    top = results[0]["code"] if results else ""
    return top.startswith(EXPECTED_CATEGORY), f"top result {top or 'none'}"


def smoke(folder: Path, scratch: Path, runs: int = 3) -> dict:
    """Run every check on the frozen app in ``folder``; scratch files go to ``scratch``.

    Returns:
        ``{"ok": bool, "checks": {name: {"ok", "detail", ...}}, "timings": {...}}``.
    """
    exe = str(folder / "cielo")
    env = {**os.environ, "CIELO_DATA_DIR": str(scratch / "data"), "QT_QPA_PLATFORM": "offscreen",
           "HOME": str(scratch / "home")}
    env.pop("CIELO_RESOURCES", None)
    (scratch / "home").mkdir(parents=True, exist_ok=True)
    checks: dict[str, dict] = {}
    timings: dict[str, float] = {}

    rc, out, err, _ = _run([exe, "--version"], env)
    checks["version"] = {"ok": rc == 0 and "cielo" in out, "detail": out.strip() or err[-300:]}

    search = [exe, "search", QUERY, "--json", "--top-k", "5"]
    rc, out, err, seconds = _run(search, env)
    ok, detail = _search_ok(out) if rc == 0 else (False, err[-300:])
    checks["first_search"] = {"ok": ok, "detail": detail, "note": "builds the catalog"}
    timings["first_start_with_catalog_build_s"] = round(seconds, 2)
    walls = []
    for _ in range(runs):
        rc, out, err, seconds = _run(search, env)
        walls.append(seconds)
    ok, detail = _search_ok(out) if rc == 0 else (False, err[-300:])
    checks["search_json"] = {"ok": ok, "detail": detail, "hybrid": "note:" not in err}
    timings["cold_start_to_first_result_s"] = {
        "median": round(statistics.median(walls), 2), "max": round(max(walls), 2), "runs": runs}

    shot = scratch / "screenshot.png"
    rc, out, err, seconds = _run([exe, "gui", "--screenshot", str(shot), "--query", QUERY], env)
    size = shot.stat().st_size if shot.exists() else 0
    checks["screenshot"] = {"ok": rc == 0 and size > 10_000, "detail": f"{size} bytes",
                            "path": str(shot)}
    timings["gui_screenshot_s"] = round(seconds, 2)

    rc, out, err, _ = _run([exe, "verify", "--json"], env)
    report = json.loads(out) if rc == 0 else {}
    checks["verify"] = {"ok": rc == 0 and report.get("ok") is True,
                        "detail": f"{len(report.get('files', []))} files ok" if rc == 0 else err}

    checks["tamper_refused"] = _tamper_check(folder, scratch, env)
    checks["no_network"] = _no_network_check(exe, scratch, env)
    return {"ok": all(c["ok"] for c in checks.values() if not c.get("skipped")),
            "checks": checks, "timings": timings}


def _tamper_check(folder: Path, scratch: Path, env: dict[str, str]) -> dict:
    copy = scratch / "tampered" / "cielo"
    shutil.rmtree(copy.parent, ignore_errors=True)
    shutil.copytree(folder, copy, symlinks=True)
    with (copy / TAMPERED_FILE).open("a", encoding="utf-8") as fh:
        fh.write("x\tno es una abreviatura\n")
    rc, _out, err, _ = _run([str(copy / "cielo"), "search", QUERY], env)
    refused = rc != 0 and "integrity" in err and TAMPERED_FILE.name in err
    vrc, vout, _verr, _ = _run([str(copy / "cielo"), "verify"], env)
    named = vrc == 1 and f"{TAMPERED_FILE.name} (modified)" in vout
    shutil.rmtree(copy.parent)
    return {"ok": refused and named, "detail": err.strip().splitlines()[-1] if err else "",
            "verify_exit": vrc}


def _no_network_check(exe: str, scratch: Path, env: dict[str, str]) -> dict:
    if not isolated_network_available():
        return {"ok": False, "skipped": True, "detail": "unshare -n is not permitted here"}
    wrap = ["unshare", "-n", "--"]
    _rc, interfaces, _err, _ = _run([*wrap, "cat", "/proc/net/dev"], env)
    names = sorted(line.split(":")[0].strip() for line in interfaces.splitlines() if ":" in line)
    rc, out, err, _ = _run([*wrap, exe, "search", QUERY, "--json"], env)
    ok, detail = _search_ok(out) if rc == 0 else (False, err[-300:])
    shot = scratch / "screenshot-offline.png"
    grc, _gout, gerr, _ = _run([*wrap, exe, "gui", "--screenshot", str(shot), "--query", QUERY],
                               env)
    gui_ok = grc == 0 and shot.exists() and shot.stat().st_size > 10_000
    return {"ok": ok and gui_ok and names == ["lo"], "detail": detail,
            "interfaces": names, "gui": "ok" if gui_ok else gerr[-300:]}
