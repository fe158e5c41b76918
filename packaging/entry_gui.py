"""Entry point of the windowed executable (Windows ``cielo-gui.exe``, macOS ``Cielo.app``)."""

import sys

from app.cli.main import cli

if __name__ == "__main__":
    cli(["gui", *sys.argv[1:]], prog_name="cielo")
