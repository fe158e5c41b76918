"""The release build itself: PyInstaller one-folder app, its smoke test (search, screenshot,
tamper refusal, no network), the tarball and the .deb installed with dpkg, SBOM and notices.

The build runs once per session (~1 minute on 2 cores); sizes and timings are recorded in
``frozen-report.json`` and ``smoke.json``, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from cielo_release.freeze import REPORT_FILE, SBOM_FILE, app_version, freeze
from cielo_release.linux import build_deb, build_tarball
from cielo_release.notices import NOTICES_FILE
from cielo_release.smoke import QUERY, isolated_network_available, smoke

from tests.packaging.conftest import require_tool

RUNTIME_FORBIDDEN = ("torch", "transformers", "training", "onnx.", "matplotlib", "pytest")


@pytest.fixture(scope="session")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """``(app folder, PyInstaller work folder, build report)``."""
    require_tool("strip")
    root = tmp_path_factory.mktemp("freeze")
    report = freeze(root / "dist", root / "work")
    return root / "dist" / "cielo", root / "work" / "cielo", report


@pytest.fixture(scope="session")
def packages(frozen, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_tool("dpkg-deb")
    folder, work, _report = frozen
    out = tmp_path_factory.mktemp("release")
    version = app_version()
    return {"tar": build_tarball(folder, out, version),
            "deb": build_deb(folder, out, version, work.parent)}


def _search(exe: Path, data: Path) -> dict:
    env = {**os.environ, "CIELO_DATA_DIR": str(data)}
    env.pop("CIELO_RESOURCES", None)
    done = subprocess.run([str(exe), "search", QUERY, "--json", "-k", "3"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_build_leaves_out_the_training_stack(frozen) -> None:
    folder, work, report = frozen
    contents = json.loads((work / "frozen-contents.json").read_text())
    modules = contents["modules"]
    assert "app.cli.main" in modules and "app.ui.app" in modules
    assert not [m for m in modules if m.startswith(RUNTIME_FORBIDDEN)]
    assert {"torch", "transformers", "training"} <= set(report["excluded_modules"])
    assert not list(folder.rglob("libtorch*"))
    assert json.loads((work.parent / REPORT_FILE).read_text())["unpacked_bytes"] > 0


def test_smoke_checks_pass(frozen, tmp_path: Path) -> None:
    folder, _work, _report = frozen
    report = smoke(folder, tmp_path, runs=1)
    failed = {k: v for k, v in report["checks"].items() if not v["ok"] and not v.get("skipped")}
    assert failed == {}
    assert report["checks"]["search_json"]["hybrid"] is True
    if os.environ.get("CI") == "true" or isolated_network_available():
        # CI runs as root: the no-network run must really have happened
        assert report["checks"]["no_network"]["interfaces"] == ["lo"]


def test_sbom_and_notices_describe_what_was_bundled(frozen) -> None:
    folder, _work, report = frozen
    sbom = json.loads((folder / SBOM_FILE).read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert sbom["metadata"]["component"]["version"] == app_version()
    purls = {c.get("purl", "") for c in sbom["components"]}
    for name in ("onnxruntime", "usearch", "tokenizers", "numpy", "sqlite-utils", "click"):
        version = report["distributions"].get(name) or report["distributions"][
            next(k for k in report["distributions"] if k.lower() == name)]
        assert f"pkg:pypi/{name}@{version}" in purls
    assert not [p for p in purls if "torch" in p or "transformers" in p]
    notices = (folder / NOTICES_FILE).read_text()
    assert "usearch 2.26.1: Apache-2.0" in notices and "LGPL" in notices
    assert (folder / "_internal" / "resources" / "NOTICE").is_file()


def test_tarball_unpacks_and_runs(packages, tmp_path: Path) -> None:
    with tarfile.open(packages["tar"]) as tar:
        members = tar.getmembers()
        assert {m.uid for m in members} == {0} and len({m.mtime for m in members}) == 1
        tar.extractall(tmp_path / "opt", filter="tar")
    results = _search(tmp_path / "opt" / "cielo" / "cielo", tmp_path / "data")["results"]
    assert results[0]["code"].startswith("S72")


def test_deb_installs_runs_verifies_and_purges(packages, tmp_path: Path) -> None:
    require_tool("dpkg")
    deb = packages["deb"]
    info = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Depends"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: cielo" in info and f"Version: {app_version()}" in info
    root = tmp_path / "root"
    admin = root / "var/lib/dpkg"
    (admin / "updates").mkdir(parents=True)
    (admin / "info").mkdir()
    (admin / "status").touch()
    dpkg = ["dpkg", f"--root={root}", f"--admindir={admin}", "--force-not-root",
            "--force-depends", "--force-script-chrootless"]
    subprocess.run([*dpkg, "--install", str(deb)], check=True, capture_output=True)
    assert os.readlink(root / "usr/bin/cielo") == "/opt/cielo/cielo"
    assert (root / "usr/share/applications/cielo.desktop").is_file()
    results = _search(root / "opt/cielo/cielo", tmp_path / "data")["results"]
    assert results[0]["code"].startswith("S72")
    verify = subprocess.run([*dpkg, "--verify", "cielo"], capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stdout == ""
    subprocess.run([*dpkg, "--purge", "cielo"], check=True, capture_output=True)
    assert not (root / "opt/cielo").exists()
