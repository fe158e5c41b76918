"""WHO-vs-CM meaning agreement: the shipped verdict table and the comparison functions.

The table (``resources/who_agreement.tsv``) is built by ``python -m training.who_agreement``
from GNU Health's WHO English titles; these tests need only the table and pure functions.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from training.who_agreement import (
    AGREE,
    DISAGREE,
    HEADER,
    MANUAL_VERDICTS,
    REASONS,
    UNVERIFIED,
    VERDICTS,
    CmEntry,
    WhoTitle,
    cie_key,
    containment,
    decide,
    english_tokens,
    is_bad_spanish_title,
    is_place_of_occurrence,
    jaccard,
    match_tokens,
    normalize_english,
    scope_conflict,
    similar_tokens,
    spanish_similarity,
    spanish_tokens,
    title_similarity,
    who_views,
)

TABLE = Path(__file__).resolve().parents[2] / "resources" / "who_agreement.tsv"
CODE_RE = re.compile(
    r"^(?:[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?|[A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z])$"
)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="module")
def verdicts(rows: list[dict[str, str]]) -> dict[str, str]:
    return {row["code"]: row["verdict"] for row in rows}


# (code, expected verdict); comment: WHO English (as cie's Spanish says it) / CM English.
KNOWN_CASES = [
    # --- disagreements ---
    ("N44", DISAGREE),  # "Torsion of testis" / "Noninflammatory disorders of testis"
    ("W10.0", DISAGREE),  # "Home" (WHO place of occurrence) / "Fall (on)(from) escalator"
    ("W10.9", DISAGREE),  # "Unspecified place" / "Fall (on) (from) unspecified stairs and steps"
    ("X00.0", DISAGREE),  # "Home" / "Exposure to flames in uncontrolled fire in building ..."
    ("E10", DISAGREE),  # "Insulin-dependent diabetes mellitus" / "Type 1 diabetes mellitus"
    # cie "Diabetes mellitus no insulinodependiente" / CM "Type 2 diabetes mellitus": CM codes
    # insulin-treated type 2 to E11 (+ Z79.4), so "non-insulin-dependent" is not type 2
    ("E11", DISAGREE),
    ("E11.9", DISAGREE),  # "... no insulinodependiente sin mención de complicación" / "Type 2 ..."
    ("O24.1", DISAGREE),  # "Pre-existing diabetes, non-insulin-dependent" / "Pre-existing type 2"
    ("E13.0", DISAGREE),  # "Other specified diabetes mellitus: With coma" / "... hyperosmolarity"
    ("O08", DISAGREE),  # "Complications following abortion and ectopic and molar pregnancy" /
    #                     "Complications following ectopic and molar pregnancy"
    ("I85.0", DISAGREE),  # "Oesophageal varices with bleeding" / "Esophageal varices"
    ("K29.0", DISAGREE),  # "Acute haemorrhagic gastritis" / "Acute gastritis"
    ("S52.6", DISAGREE),  # "Fracture of lower end of both ulna and radius" / "... of ulna"
    ("S61.0", DISAGREE),  # "Open wound of finger(s) without damage to nail" / "... of thumb ..."
    ("D37", DISAGREE),  # "Neoplasm of uncertain or unknown behaviour of ..." / "uncertain" only
    ("T36.0", DISAGREE),  # "Poisoning: Penicillins" / "Poisoning by, adverse effect of and
    #                       underdosing of penicillins"
    ("T74.1", DISAGREE),  # "Physical abuse" / "Physical abuse, confirmed"
    ("S21.1", DISAGREE),  # "Open wound of front wall of thorax" / "... without penetration ..."
    ("O44.0", DISAGREE),  # "Placenta praevia specified as without haemorrhage" / "Complete ..."
    ("C83.1", DISAGREE),  # cie "small cleaved cell (diffuse)" / "Mantle cell lymphoma"
    ("J09", DISAGREE),  # cie "avian influenza virus" / "certain identified influenza viruses"
    ("O80", DISAGREE),  # "Single spontaneous delivery" / "Encounter for full-term uncomplicated
    #                     delivery"
    ("F17", DISAGREE),  # "Mental and behavioural disorders due to use of tobacco" / "Nicotine
    #                     dependence"
    ("A50-A64", DISAGREE),  # cie title truncated to "predominantemente sexual"
    # --- agreements ---
    ("A00-B99", AGREE),  # "Certain infectious and parasitic diseases" (both)
    ("A00-A09", AGREE),  # "Intestinal infectious diseases" (both)
    ("A00", AGREE),  # "Cholera" (both)
    ("A00.0", AGREE),  # "Cholera due to Vibrio cholerae 01, biovar cholerae" (both)
    ("A41", AGREE),  # "Other sepsis" (cie "Otras septicemias") / "Other sepsis"
    ("I10", AGREE),  # "Essential (primary) hypertension" (both)
    ("I21", AGREE),  # "Acute myocardial infarction" (both)
    ("I21.0", AGREE),  # "Acute transmural MI of anterior wall" / "STEMI of anterior wall"
    ("I21.4", AGREE),  # "Acute subendocardial MI" / "Non-ST elevation (NSTEMI) MI"
    ("J44", AGREE),  # "Other chronic obstructive pulmonary disease" (both)
    ("J11.0", AGREE),  # "Influenza with pneumonia, virus not identified" / "Influenza due to
    #                    unidentified influenza virus with pneumonia"
    ("K35", AGREE),  # "Acute appendicitis" (both)
    ("K92.2", AGREE),  # "Gastrointestinal haemorrhage, unspecified" / "... hemorrhage, ..."
    ("S72", AGREE),  # "Fracture of femur" (both)
    ("S72.0", AGREE),  # "Fracture of neck of femur" / "Fracture of head and neck of femur"
    ("M16", AGREE),  # "Coxarthrosis [arthrosis of hip]" / "Osteoarthritis of hip"
    ("F10", AGREE),  # "Mental and behavioural disorders due to use of alcohol" / "Alcohol
    #                  related disorders"
    ("F70", AGREE),  # "Mild mental retardation" / "Mild intellectual disabilities"
    ("H54.1", AGREE),  # cie "Ceguera de un ojo, visión subnormal del otro" / "Blindness, one
    #                    eye, low vision other eye"
    ("I72", AGREE),  # cie "Otros aneurismas" / "Other aneurysm"
    ("E66", AGREE),  # "Obesity" / "Overweight and obesity"
    # --- unverified ---
    ("C82.1", UNVERIFIED),  # cie: older WHO "mixed small cleaved and large cell, follicular";
    #                         GNU Health / CM: "Follicular lymphoma grade II"
]


@pytest.mark.parametrize(("code", "expected"), KNOWN_CASES)
def test_known_cases(verdicts: dict[str, str], code: str, expected: str) -> None:
    assert verdicts.get(code) == expected, code


def test_known_cases_cover_enough_of_each_verdict() -> None:
    counts = {v: sum(expected == v for _, expected in KNOWN_CASES) for v in VERDICTS}
    assert len(KNOWN_CASES) >= 25
    assert counts[AGREE] >= 10 and counts[DISAGREE] >= 10


def test_codes_absent_from_cm_have_no_row(verdicts: dict[str, str]) -> None:
    # WHO-only codes (E14) and WHO ranges CM does not have (Q00-Q99: CM is Q00-QA0).
    for code in ("E14", "Q00-Q99", "V01-Y99", "F00"):
        assert code not in verdicts


def test_manual_verdicts_are_applied(rows: list[dict[str, str]]) -> None:
    by_code = {row["code"]: row for row in rows}
    for code, (verdict, reason) in MANUAL_VERDICTS.items():
        assert code in by_code, code
        assert by_code[code]["verdict"] == verdict, code
        assert by_code[code]["reason"] == reason == "manual", code


# --- file format --------------------------------------------------------------------------


def test_header_and_columns() -> None:
    with TABLE.open(encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    assert lines[0].split("\t") == list(HEADER)
    assert lines[-1] == ""  # ends with one newline
    assert all(line.count("\t") == 3 for line in lines[1:-1])
    assert "\r" not in "".join(lines)


def test_rows_are_well_formed(rows: list[dict[str, str]]) -> None:
    assert len(rows) > 10_000
    for row in rows:
        assert CODE_RE.match(row["code"]), row
        assert row["verdict"] in VERDICTS, row
        assert row["reason"] in REASONS, row
        assert re.fullmatch(r"[01]\.\d{3}", row["similarity"]), row
        assert 0.0 <= float(row["similarity"]) <= 1.0


def test_sorted_without_duplicates(rows: list[dict[str, str]]) -> None:
    codes = [row["code"] for row in rows]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes))


def test_table_holds_no_titles() -> None:
    text = TABLE.read_text(encoding="utf-8")
    assert not re.search(r"[a-z]{3,} [a-z]{3,}", text.split("\n", 1)[1])
    assert "Cholera" not in text and "Cólera" not in text


def test_every_verdict_and_level_occurs(rows: list[dict[str, str]]) -> None:
    codes = {row["code"] for row in rows}
    assert {row["verdict"] for row in rows} == set(VERDICTS)
    assert any(re.fullmatch(r"[A-Z]\d\d-[A-Z]\d[\dA-Z]", c) for c in codes)  # blocks/chapters
    assert any("." in c for c in codes) and any(len(c) == 3 for c in codes)


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("Haemorrhage of oesophagus", "Hemorrhage of esophagus"),
        ("Anaemia in tumour", "Anemia in tumor"),
        ("Foetus, paediatric", "Fetus, pediatric"),
        ("Behavioural disorders", "Behavioral disorders"),
        ("Characterised by goitre", "Characterized by goiter"),
        ("Counselling", "Counseling"),
        ("Diarrhoea and oedema", "Diarrhea and edema"),
        ("Caesarean section", "Cesarean section"),
        ("Ischaemic heart disease", "Ischemic heart disease"),
    ],
)
def test_british_and_american_spellings_fold_together(british: str, american: str) -> None:
    assert normalize_english(british) == normalize_english(american)


def test_normalize_drops_boilerplate_and_punctuation() -> None:
    assert normalize_english("Haemorrhage of oesophagus, NOS") == "hemorrhage of esophagus"
    assert normalize_english("Cholera, unspecified") == "cholera"
    assert normalize_english("Pleural effusion, not elsewhere classified") == "pleural effusion"
    assert normalize_english("Parkinson's disease") == normalize_english("Parkinson disease")
    assert normalize_english("Non-infective enteritis") == "noninfective enteritis"
    assert normalize_english("Follicular lymphoma grade II") == "follicular lymphoma grade 2"


def test_english_tokens_drop_stop_words_and_fold_plurals() -> None:
    assert english_tokens("Other salmonella infections") == {"other", "salmonella", "infection"}
    assert english_tokens("Injuries to the head") == {"injury", "head"}
    assert english_tokens("Encounter for screening") == {"screening"}
    # renamed terms fold to CM's wording
    assert english_tokens("Renal failure") == english_tokens("Kidney failure")
    assert english_tokens("Mild mental retardation") == english_tokens(
        "Mild intellectual disabilities"
    )


def test_similar_tokens() -> None:
    assert similar_tokens("sphenoidal", "sphenoid")
    assert similar_tokens("sibirica", "siberica")
    assert similar_tokens("giannotti", "gianotti")
    assert similar_tokens("pyriform", "piriform")
    assert not similar_tokens("abduction", "adduction")
    assert not similar_tokens("thyroid", "thyroiditis")
    assert not similar_tokens("hypertension", "hypotension")
    assert not similar_tokens("finger", "thumb")


def test_jaccard_and_containment() -> None:
    a, b = frozenset({"fracture", "femur"}), frozenset({"fracture", "neck", "femur"})
    assert jaccard(a, b) == pytest.approx(2 / 3)
    assert jaccard(frozenset(), frozenset()) == 1.0
    assert containment(a, b) == 1.0
    assert containment(b, a) == pytest.approx(2 / 3)
    assert containment(frozenset(), b) == 0.0
    assert match_tokens(frozenset({"sphenoidal", "sinus"}), frozenset({"sphenoid", "sinus"})) == (
        2,
        frozenset(),
        frozenset(),
    )


def test_title_similarity_pairs() -> None:
    assert title_similarity("Cholera, unspecified", "Cholera").similarity == 1.0
    same = title_similarity(
        "Gastrointestinal haemorrhage, unspecified",
        "GI hemorrhage",
        ["Gastrointestinal hemorrhage NOS"],
    )
    assert same.similarity == 1.0 and same.source == "inclusion_term"
    nstemi = title_similarity(
        "Acute subendocardial myocardial infarction",
        "Non-ST elevation (NSTEMI) myocardial infarction",
        ["Acute subendocardial myocardial infarction", "Non-Q wave myocardial infarction NOS"],
    )
    assert nstemi.similarity == 1.0 and nstemi.source == "inclusion_term"
    torsion = title_similarity("Torsion of testis", "Noninflammatory disorders of testis")
    assert torsion.similarity < 0.5 and torsion.who_extra == {"torsion"}
    subset = title_similarity("Obesity", "Overweight and obesity")
    assert subset.similarity == 0.5 and not subset.who_extra
    wider = title_similarity(
        "Aneurysm and dissection of carotid artery", "Aneurysm of carotid artery"
    )
    assert wider.who_extra == {"dissection"}
    # "parent: child" WHO titles are also read without the parent
    tail = title_similarity("Malignant neoplasm: Liver cell carcinoma", "Liver cell carcinoma")
    assert tail.similarity == 1.0


def test_who_views() -> None:
    assert who_views("Coxarthrosis [arthrosis of hip]") == [
        "Coxarthrosis [arthrosis of hip]",
        "Coxarthrosis",
    ]
    assert who_views("Malignant neoplasm: Liver cell carcinoma") == [
        "Malignant neoplasm: Liver cell carcinoma",
        "Liver cell carcinoma",
    ]


def test_scope_conflict() -> None:
    assert scope_conflict(
        english_tokens("Open wound of thorax"),
        english_tokens("Open wound of thorax without penetration"),
    )
    assert scope_conflict(
        english_tokens("Poisoning by penicillins"),
        english_tokens("Poisoning by, adverse effect of and underdosing of penicillins"),
    )
    assert not scope_conflict(english_tokens("Cholera"), english_tokens("Cholera, unspecified"))


def test_spanish_similarity() -> None:
    assert spanish_tokens("Traumatismos del tórax") == spanish_tokens("Lesiones en el tórax")
    assert spanish_similarity("Cólera, no especificado", "Cólera") == 1.0
    assert spanish_similarity("Anemias aplásticas", "Anemia aplásica") == 1.0
    revision = spanish_similarity(
        "Linfoma no Hodgkin de células pequeñas hendidas (difuso)", "Linfoma de células del manto"
    )
    assert revision < 0.3


def test_bad_spanish_titles() -> None:
    assert is_bad_spanish_title("predominantemente sexual")
    assert is_bad_spanish_title("Otras")
    assert is_bad_spanish_title("  ")
    assert not is_bad_spanish_title("Cólera")


def test_place_of_occurrence() -> None:
    assert is_place_of_occurrence("W10.0", "Home", "Caída en o desde escalera: vivienda")
    assert is_place_of_occurrence("W10.9", "Unspecified place", "")
    assert is_place_of_occurrence("X00.9", "?", "Exposición a fuego: lugar no especificado")
    assert not is_place_of_occurrence("W10", "Home", "Caída")  # categories are not places
    assert not is_place_of_occurrence("Y90.0", "Blood alcohol level of less than 20 mg/100 ml", "")


def test_cie_key() -> None:
    assert cie_key(" I214 ") == "I21.4"
    assert cie_key("A00") == "A00"
    assert cie_key("J09-J18 ") == "J09-J18"
    assert cie_key("F99-F99") == "F99"


def _entry(code: str, title: str, terms: tuple[str, ...] = ()) -> CmEntry:
    level = "category" if len(code) == 3 else "subcategory"
    return CmEntry(code, level, title, terms, 1)


def test_decide_rules() -> None:
    cholera = _entry("A00", "Cholera")
    assert decide("A00", cholera, "Cólera", WhoTitle("Cholera", "Cólera")).reason == "exact"
    missing = decide("A00", cholera, "Cólera", None)
    assert (missing.verdict, missing.reason) == (UNVERIFIED, "no_who_english")
    truncated = decide("A00", cholera, "sin diagnóstico", WhoTitle("Cholera", ""))
    assert (truncated.verdict, truncated.reason) == (DISAGREE, "bad_spanish_title")
    other_revision = decide(
        "A00", cholera, "Tifus exantemático", WhoTitle("Cholera", "Cólera clásico")
    )
    assert other_revision.verdict == UNVERIFIED
    place = decide(
        "W10.0",
        _entry("W10.0", "Fall (on)(from) escalator"),
        "Caída en o desde escalera: vivienda",
        WhoTitle("Home", ""),
    )
    assert (place.verdict, place.reason) == (DISAGREE, "place_of_occurrence")
    broader = decide(
        "K29.0",
        _entry("K29.0", "Acute gastritis"),
        "Gastritis aguda hemorrágica",
        WhoTitle("Acute haemorrhagic gastritis", ""),
    )
    assert (broader.verdict, broader.reason) == (DISAGREE, "extra_who_words")
    manual = decide(
        "N44",
        _entry("N44", "Noninflammatory disorders of testis"),
        "Torsión del testículo",
        WhoTitle("Torsion of testis", ""),
    )
    assert (manual.verdict, manual.reason) == (DISAGREE, "manual")
    # the threshold: 2 of 3 content words shared agrees, 1 of 3 does not
    near = decide(
        "B01",
        _entry("B01", "Varicella pneumonia"),
        "Neumonía varicelosa",
        WhoTitle("Varicella pneumonia acute", ""),
    )
    assert near.verdict == DISAGREE  # WHO says more ("acute") than CM
    close = decide(
        "B02",
        _entry("B02", "Zoster ophthalmicus acute"),
        "Zóster oftálmico",
        WhoTitle("Zoster ophthalmicus", ""),
    )
    assert (close.verdict, close.reason) == (AGREE, "token_overlap")
    far = decide(
        "B03", _entry("B03", "Smallpox vaccine reaction"), "Viruela", WhoTitle("Smallpox", "")
    )
    assert (far.verdict, far.reason) == (DISAGREE, "low_overlap")
