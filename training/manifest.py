"""Rehash ``resources/manifest.json`` after a resource file changed.

The app refuses resources that differ from their manifest (:mod:`app.integrity`), so every
command that rewrites a file under ``resources/`` ends with this step; the other keys of
the manifest (bundle, training settings, metrics) are kept.

Example: ``python -m training.manifest`` (after ``python -m training.document_lexicon``)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app.integrity import MANIFEST_FILE, check_resources, write_manifest


def refresh_manifest(root: Path) -> list[str]:
    """Rewrite the hashes of ``root/manifest.json``; returns the files whose entry changed."""
    path = root / MANIFEST_FILE
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    new = write_manifest(root, old)
    before = old.get("files") or {}
    return sorted(name for name in set(before) | set(new["files"])
                  if before.get(name) != new["files"].get(name))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=Path, default=Path("resources"))
    parser.add_argument("--check", action="store_true",
                        help="Only report files that differ from the manifest (exit 1 if any).")
    args = parser.parse_args(argv)
    if args.check:
        _checked, findings = check_resources(args.resources)
        for finding in findings:
            print(finding)
        return 1 if findings else 0
    changed = refresh_manifest(args.resources)
    listed = f" ({', '.join(changed)})" if changed else ""
    print(f"{args.resources / MANIFEST_FILE}: {len(changed)} changed file(s){listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
