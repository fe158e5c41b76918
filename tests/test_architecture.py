"""House rules that tests can enforce: the import graph and the documented CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_APP = {"torch", "transformers", "training"}
QT = {"PySide6", "PyQt6", "PyQt5"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_runtime_never_imports_training_or_torch() -> None:
    offenders = {
        str(p.relative_to(ROOT)): _imports(p) & FORBIDDEN_IN_APP
        for p in (ROOT / "app").rglob("*.py")
        if _imports(p) & FORBIDDEN_IN_APP
    }
    assert offenders == {}


def test_pipeline_and_store_never_import_qt() -> None:
    core = [*(ROOT / "app" / "search").rglob("*.py"), *(ROOT / "app" / "catalog").rglob("*.py")]
    offenders = {str(p.relative_to(ROOT)) for p in core if _imports(p) & QT}
    assert offenders == set()


def test_cli_search_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, app.cli.main\n"
        "bad = [m for m in ('torch', 'transformers', 'training', 'PySide6') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


def _commands(group: click.Group, prefix: str = "cielo") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, full))
    return found


def test_every_cli_command_is_documented_with_help_and_example() -> None:
    from app.cli.main import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for full, command in _commands(cli):
        assert full in readme, f"{full} is missing from README.md"
        assert command.help and "Example:" in command.help, f"{full} lacks help or an example"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{full} {param.opts} lacks help"
