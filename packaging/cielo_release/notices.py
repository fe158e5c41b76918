"""``THIRD_PARTY_NOTICES.txt``: the licence of every distribution in the frozen app, with
the licence texts its wheel ships, and the system libraries copied from the build host."""

from __future__ import annotations

from pathlib import Path

from cielo_release.contents import Distribution, SystemLibrary

NOTICES_FILE = "THIRD_PARTY_NOTICES.txt"
RULE = "=" * 78


def write_notices(out: Path, dists: list[Distribution], libraries: list[SystemLibrary]) -> Path:
    """Write the notices file into ``out``; returns its path."""
    parts = [
        "Cielo: third-party software in this package",
        "",
        "Each Python distribution below is followed by the licence files its wheel ships.",
        "Qt (via PySide6) is used under the LGPL-3.0: its libraries are separate shared",
        "files in _internal/PySide6 and may be replaced by the user.",
        "",
        "Summary:",
        *(f"  {d.name} {d.version}: {d.licence}" for d in dists),
        "",
        "System libraries copied from the build host (licences as their distribution's):",
        *(f"  {lib.file}: {lib.package or 'unknown package'} {lib.version or ''}".rstrip()
          for lib in libraries),
    ]
    for dist in dists:
        parts += ["", RULE, f"{dist.name} {dist.version} ({dist.licence})", RULE]
        if not dist.licence_files:
            parts.append("(the wheel ships no licence file; see the summary above)")
        for path in dist.licence_files:
            parts += [f"--- {path.name} ---", path.read_text(encoding="utf-8", errors="replace")]
    target = out / NOTICES_FILE
    target.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return target
