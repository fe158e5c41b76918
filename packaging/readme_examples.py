"""Regenerate the README's command-line examples from real runs.

    python packaging/readme_examples.py [--readme README.md] [--check]

Between ``<!-- examples:start -->`` and ``<!-- examples:end -->`` every fenced ``console``
block starts with ``$ COMMAND`` (continuation lines belong to it while a quoted string is
open); the command runs in bash from the repository root with the installed ``cielo`` and
the block's output is replaced by what it printed on stdout. Prose between blocks is kept.
``--check`` exits 1 when the README would change (for a release check), writing nothing.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

from app.atomic import atomic_text_writer

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- examples:start -->", "<!-- examples:end -->"
_BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)


def split_command(block: str) -> str:
    """The command of a console block: the ``$`` line and its continuation lines, up to
    the first line where every quote it opened is closed.

    Example: ``split_command('$ echo "a\\nb"\\na\\nb\\n') == 'echo "a\\nb"'``
    """
    lines = block.split("\n")
    if not lines or not lines[0].startswith("$ "):
        raise ValueError(f"a console block must start with '$ ': {lines[:1]}")
    command = lines[0][2:]
    for line in lines[1:]:
        try:
            shlex.split(command)
            break
        except ValueError:  # a quote is still open: the command goes on
            command += "\n" + line
    return command


def run(command: str) -> str:
    """What ``command`` prints on stdout (bash, from the repository root).

    Raises:
        SystemExit: the command fails (its stderr is shown).
    """
    # the status is the last command's: `cielo lookup ... | head` closes the pipe early
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"`{command}` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def regenerate(text: str) -> str:
    """The README text with every example block's output rerun."""
    start, end = text.index(START), text.index(END)
    section = text[start:end]

    def replace(match: re.Match) -> str:
        command = split_command(match.group(1))
        output = run(command)
        return f"```console\n$ {command}\n{output.rstrip()}\n```"

    return text[:start] + _BLOCK.sub(replace, section) + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--check", action="store_true", help="Exit 1 if it would change.")
    args = parser.parse_args(argv)
    old = args.readme.read_text(encoding="utf-8")
    new = regenerate(old)
    if args.check:
        return int(new != old)
    if new != old:
        with atomic_text_writer(args.readme) as fh:
            fh.write(new)
    sys.stdout.write(f"{args.readme}: {'updated' if new != old else 'unchanged'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
