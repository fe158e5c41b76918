"""What a frozen build contains: the Python distributions and system libraries behind the
modules, binaries and data files PyInstaller collected (``frozen-contents.json``)."""

from __future__ import annotations

import importlib.metadata as md
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CONTENTS_FILE = "frozen-contents.json"
SHARED_LIBRARY = re.compile(r"\.(so(\.[0-9.]+)?|dll|dylib)$")
LICENSE_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


@dataclass
class Distribution:
    """A Python distribution in the frozen app (``licence_files``: its licence texts)."""

    name: str
    version: str
    licence: str
    licence_files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class SystemLibrary:
    """A shared library copied from the build host (``package``: its Debian package, if any)."""

    file: str
    package: str | None
    version: str | None


def _licence(dist: md.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License :: OSI Approved")]
    if classifiers:
        return " OR ".join(classifiers)
    text = (meta.get("License") or "").strip()
    return text.splitlines()[0][:80] if text else "UNKNOWN"


def _licence_files(dist: md.Distribution) -> list[Path]:
    found = []
    for entry in dist.files or []:
        name = Path(str(entry)).name.upper()
        if ".dist-info" in str(entry) and name.startswith(LICENSE_NAMES):
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                found.append(path)
    return found


def _owners() -> tuple[dict[str, md.Distribution], dict[str, md.Distribution]]:
    """Maps of top-level import name and of installed file path to distribution."""
    by_top: dict[str, md.Distribution] = {}
    by_file: dict[str, md.Distribution] = {}
    for dist in md.distributions():
        for entry in dist.files or []:
            parts = Path(str(entry)).parts
            if not parts or parts[0] == ".." or parts[0].endswith(".dist-info"):
                continue
            by_file["/".join(parts)] = dist
            if SHARED_LIBRARY.search(parts[-1]):  # PyInstaller links some to the top level
                by_file.setdefault(parts[-1], dist)
            top = parts[0].removesuffix(".py").split(".")[0]
            by_top.setdefault(top, dist)
    return by_top, by_file


def _debian_package(library: str) -> tuple[str | None, str | None]:
    if not shutil.which("dpkg-query"):
        return None, None
    found = subprocess.run(["dpkg-query", "-S", f"*/{library}"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout:
        return None, None
    package = found.stdout.split(":", 1)[0].split(",")[0].strip()
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             capture_output=True, text=True).stdout.strip()
    return package, version or None


def read_contents(contents: dict) -> tuple[list[Distribution], list[SystemLibrary]]:
    """Distributions and system libraries behind a build's ``frozen-contents.json``."""
    by_top, by_file = _owners()
    owners: dict[str, md.Distribution] = {}
    system: dict[str, SystemLibrary] = {}
    for module in contents["modules"]:
        dist = by_top.get(module.split(".")[0])
        if dist is not None:
            owners[dist.metadata["Name"]] = dist
    for dest in contents["binaries"] + contents["datas"]:
        dist = by_file.get(dest) or (by_top.get(Path(dest).parts[0]) if "/" in dest else None)
        if dist is not None:
            owners[dist.metadata["Name"]] = dist
        elif "/" not in dest and SHARED_LIBRARY.search(dest):
            if dest.startswith("libpython"):
                system[dest] = SystemLibrary(dest, "python", platform.python_version())
            else:
                system[dest] = SystemLibrary(dest, *_debian_package(dest))
    dists = [Distribution(name, d.version, _licence(d), _licence_files(d))
             for name, d in sorted(owners.items(), key=lambda kv: kv[0].lower())]
    return dists, sorted(system.values(), key=lambda lib: lib.file)
