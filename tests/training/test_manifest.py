"""``python -m training.manifest``: rehash resources after a change, keeping the other keys."""

from __future__ import annotations

import json
from pathlib import Path

from app.integrity import check_resources, write_manifest
from training.manifest import main


def test_refresh_rehashes_changed_files_and_keeps_metadata(tmp_path: Path, capsys) -> None:
    (tmp_path / "lexicon.tsv").write_text("a\tb\n", encoding="utf-8")
    write_manifest(tmp_path, {"bundle": "cielo-test", "encoder": {"dim": 256}})
    (tmp_path / "lexicon.tsv").write_text("a\tc\n", encoding="utf-8")
    (tmp_path / "new.tsv").write_text("x\n", encoding="utf-8")
    assert main(["--resources", str(tmp_path), "--check"]) == 1
    assert "lexicon.tsv (modified)" in capsys.readouterr().out

    assert main(["--resources", str(tmp_path)]) == 0
    assert "2 changed file(s) (lexicon.tsv, new.tsv)" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["bundle"] == "cielo-test" and manifest["encoder"] == {"dim": 256}
    assert check_resources(tmp_path)[1] == []
    assert main(["--resources", str(tmp_path), "--check"]) == 0
