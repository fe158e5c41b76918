"""Start-up integrity of the bundled resources (app.integrity) and ``cielo verify``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli.main import cli
from app.errors import ResourcesTampered
from app.integrity import check_resources, ensure_resources_intact, resource_files
from app.paths import resources_dir


@pytest.fixture()
def bundle(tmp_path: Path, seal_resources) -> Path:
    """A small sealed resources folder: two files and a manifest."""
    root = tmp_path / "resources"
    (root / "model").mkdir(parents=True)
    (root / "model" / "encoder.onnx").write_bytes(os.urandom(4096))
    (root / "abbreviations.tsv").write_text("IAM\tinfarto agudo de miocardio\n", encoding="utf-8")
    (root / "README.md").write_text("documentation is not listed\n", encoding="utf-8")
    return seal_resources(root)


def test_committed_manifest_lists_every_resource_with_its_hash() -> None:
    checked, findings = check_resources(resources_dir())
    assert findings == [], "run `python -m training.manifest` after changing resources/"
    assert checked == resource_files(resources_dir())
    assert {"model/encoder.onnx", "index/vectors.usearch", "who_agreement.tsv"} <= set(checked)


def test_intact_bundle_passes_and_docs_are_not_listed(bundle: Path) -> None:
    checked, findings = check_resources(bundle)
    assert checked == ["abbreviations.tsv", "model/encoder.onnx"]
    assert findings == []
    ensure_resources_intact(bundle)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda r: (r / "abbreviations.tsv").write_text("IAM\totra cosa\n"), "modified"),
        # same size, one byte flipped: only the hash can tell
        (lambda r: _flip_byte(r / "model" / "encoder.onnx"), "modified"),
        (lambda r: (r / "model" / "encoder.onnx").unlink(), "missing"),
        (lambda r: (r / "model" / "extra.onnx").write_bytes(b"x"), "not in the manifest"),
    ],
)
def test_tampered_bundle_is_refused_with_the_file_named(bundle: Path, tamper, expected) -> None:
    ensure_resources_intact(bundle)  # cached as intact first: the cache must not hide tampering
    tamper(bundle)
    _checked, findings = check_resources(bundle)
    assert [f.problem for f in findings] == [expected]
    with pytest.raises(ResourcesTampered, match=f"{findings[0].path} \\({expected}\\)"):
        ensure_resources_intact(bundle)


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # an attacker keeps the mtime


@pytest.mark.parametrize("content", [None, "{not json", '{"files": {"a": "b"}}'])
def test_missing_or_malformed_manifest_is_refused(bundle: Path, content: str | None) -> None:
    manifest = bundle / "manifest.json"
    if content is None:
        manifest.unlink()
    else:
        manifest.write_text(content, encoding="utf-8")
    with pytest.raises(ResourcesTampered, match="manifest.json"):
        ensure_resources_intact(bundle)


@pytest.fixture()
def tampered_resources(tmp_path: Path, seal_resources, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real resources (linked), sealed, then one abbreviation added behind the manifest."""
    root = tmp_path / "resources"
    root.mkdir()
    for item in resources_dir().iterdir():
        if item.name != "abbreviations.tsv":
            (root / item.name).symlink_to(item)
    shutil.copyfile(resources_dir() / "abbreviations.tsv", root / "abbreviations.tsv")
    seal_resources(root)
    with (root / "abbreviations.tsv").open("a", encoding="utf-8") as fh:
        fh.write("ZZZ\tabreviatura añadida\n")
    monkeypatch.setenv("CIELO_RESOURCES", str(root))
    return root


def test_cli_refuses_tampered_resources_and_verify_names_them(
    tampered_resources: Path, data_dir: Path
) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["search", "neumonía", "--retriever", "bm25"])
    assert refused.exit_code == 1
    assert "integrity check: abbreviations.tsv (modified)" in refused.stderr
    assert refused.stdout == ""
    report = runner.invoke(cli, ["verify", "--json"])
    assert report.exit_code == 1
    data = json.loads(report.stdout)
    assert data["ok"] is False
    assert {"name": "abbreviations.tsv", "status": "modified"} in data["files"]
    assert {"name": "model/encoder.onnx", "status": "ok"} in data["files"]


def test_cli_verify_passes_on_the_bundled_resources() -> None:
    result = CliRunner().invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "OK     model/encoder.onnx" in result.stdout
    assert "files ok" in result.stderr


def test_desktop_session_refuses_tampered_resources(tampered_resources: Path, store) -> None:
    from app.ui.session import open_session

    opened = []
    with pytest.raises(ResourcesTampered, match="abbreviations.tsv"):
        open_session(lambda progress=None: opened.append(1) or store, None)
    assert opened == []  # refused before the catalog was opened
