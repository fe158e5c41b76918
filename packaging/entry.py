"""Entry point of the frozen app: the ``cielo`` command (``cielo gui`` opens the window)."""

from app.cli.main import cli

if __name__ == "__main__":
    cli(prog_name="cielo")
