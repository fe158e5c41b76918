"""``cielo gui``: the desktop application."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import encoding_option, handle_errors


@click.command()
@click.option(
    "--screenshot", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Render offscreen, save the window as this PNG once results show, and exit.",
)
@click.option("--query", default=None, help="Text typed into the search box at start.")
@click.option(
    "--document", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="A clinical note (text file) opened in the Document tab and analysed at start.",
)
@encoding_option
@click.option(
    "--lang", "language", type=click.Choice(["es", "en"]), default="es", show_default=True,
    help="Interface language.",
)
@handle_errors
def gui(
    screenshot: Path | None, query: str | None, language: str, document: Path | None,
    encoding: str | None,
) -> None:
    """Open the desktop app (search, code details, favourites, history, document mode).

    Example: cielo gui --screenshot shot.png --query "fractura del cuello del fémur"
    """
    try:
        from app.ui.app import run_gui
    except ImportError as exc:  # PySide6 missing
        raise click.ClickException(
            f"the desktop app needs PySide6 ({exc}); install it with "
            "`pip install 'pyside6-essentials>=6.7'`"
        ) from exc
    code = run_gui(
        screenshot=screenshot, query=query, language=language, document=document,
        encoding=encoding,
    )
    if code:
        raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover - `python -m app.cli.gui`
    gui()
