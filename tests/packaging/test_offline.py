"""The runtime never uses the network: no networking module in ``app``, and a search plus a
desktop session open without a single socket call (Python audit hooks)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
NETWORK_MODULES = ("socket", "ssl", "http", "urllib", "requests", "httpx", "aiohttp",
                   "ftplib", "smtplib", "xmlrpc", "websocket", "QtNetwork")


def test_app_imports_no_networking_module() -> None:
    offenders = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            offenders += [f"{path.name}: {n}" for n in names
                          if any(part in NETWORK_MODULES for part in n.split("."))]
    assert offenders == []


AUDITED = """
import os, sys
calls = []
sys.addaudithook(lambda event, args: calls.append(event) if event.startswith(
    ("socket.", "urllib.", "http.", "ftplib.", "smtplib.")) else None)
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from click.testing import CliRunner
from app.cli.main import cli
result = CliRunner().invoke(cli, ["search", "IAM inferior", "--json"])
assert result.exit_code == 0, result.output
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.catalog.open import open_catalog
from app.ui.session import open_session
session = open_session(open_catalog, None)
session.pipeline.search("fractura de cadera", top_k=5)
print("socket calls:", sorted(set(calls)))
"""


def test_search_and_session_make_no_socket_call(data_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-c", AUDITED], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "socket calls: []" in done.stdout
