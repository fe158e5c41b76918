"""Tests for the Spanish clinical abbreviation table and its query expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.search.abbreviations import (
    DEFAULT_PATH,
    Abbreviation,
    AbbreviationFileError,
    AbbreviationTable,
    Expansion,
)
from app.search.normalize import normalize_text

HEADER = "abbreviation\texpansion\tnote\n"


@pytest.fixture(scope="module")
def table() -> AbbreviationTable:
    return AbbreviationTable.default()


def write_tsv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "abbr.tsv"
    path.write_text(header + body, encoding="utf-8")
    return path


# --- the shipped file ---------------------------------------------------------------------

REQUIRED = [
    "IAM",
    "HTA",
    "DM",
    "DM1",
    "DM2",
    "EPOC",
    "ICC",
    "IC",
    "FA",
    "TEP",
    "TVP",
    "ITU",
    "IRC",
    "ERC",
    "IRA",
    "ACV",
    "AIT",
    "HBP",
    "HTP",
    "SAOS",
    "SAHS",
    "EAP",
    "NAC",
    "FRCV",
    "DLP",
    "HSA",
    "HDA",
    "HDB",
    "ERGE",
    "EII",
    "CU",
    "EC",
    "VIH",
    "VHB",
    "VHC",
    "TBC",
    "ITS",
    "ETS",
    "TCE",
    "FX",
    "LOE",
    "ACxFA",
    "BAV",
    "BRD",
    "BRIHH",
    "MCH",
    "MCD",
    "SCA",
    "SCACEST",
    "SCASEST",
    "EAo",
    "IAo",
    "IM",
    "EM",
    "ELA",
    "EA",
    "EP",
    "TDAH",
    "TAG",
    "TOC",
    "TEPT",
    "SDRA",
    "LES",
    "AR",
    "PTI",
    "CID",
    "LLC",
    "LMA",
    "LNH",
    "LH",
    "GIST",
    "CA",
    "ADC",
    "CCR",
    "CPNM",
    "NTA",
    "SHU",
    "RAO",
    "PCR",
    "FOD",
]

PROPER_NAME_STARTS = {"Staphylococcus", "Pneumocystis"}

EXPECTED_FIRST = {
    "IAM": "infarto agudo de miocardio",
    "HTA": "hipertensión arterial",
    "DM2": "diabetes mellitus tipo 2",
    "DM1": "diabetes mellitus tipo 1",
    "EPOC": "enfermedad pulmonar obstructiva crónica",
    "ICC": "insuficiencia cardiaca congestiva",
    "IC": "insuficiencia cardiaca",
    "FA": "fibrilación auricular",
    "TEP": "tromboembolismo pulmonar",
    "TVP": "trombosis venosa profunda",
    "ITU": "infección del tracto urinario",
    "ERC": "enfermedad renal crónica",
    "ACV": "accidente cerebrovascular",
    "AIT": "accidente isquémico transitorio",
    "HBP": "hiperplasia benigna de próstata",
    "SAOS": "síndrome de apnea obstructiva del sueño",
    "ERGE": "enfermedad por reflujo gastroesofágico",
    "TDAH": "trastorno por déficit de atención e hiperactividad",
    "LLC": "leucemia linfática crónica",
    "VIH": "virus de la inmunodeficiencia humana",
    "TCE": "traumatismo craneoencefálico",
    "LES": "lupus eritematoso sistémico",
    "CU": "colitis ulcerosa",
    "EC": "enfermedad de Crohn",
    "NAC": "neumonía adquirida en la comunidad",
    "FX": "fractura",
    "CA": "carcinoma",
    "ELA": "esclerosis lateral amiotrófica",
    "SDRA": "síndrome de distrés respiratorio agudo",
    "ACxFA": "arritmia cardiaca por fibrilación auricular",
}


def test_default_path_points_at_resources() -> None:
    assert DEFAULT_PATH.name == "abbreviations.tsv"
    assert DEFAULT_PATH.parent.name == "resources"
    assert DEFAULT_PATH.is_file()


def test_shipped_file_loads_with_enough_entries(table: AbbreviationTable) -> None:
    assert len(table) >= 150


@pytest.mark.parametrize("abbreviation", REQUIRED)
def test_required_abbreviations_present(table: AbbreviationTable, abbreviation: str) -> None:
    assert abbreviation in table
    assert table.get(abbreviation) is not None


@pytest.mark.parametrize(("abbreviation", "first"), sorted(EXPECTED_FIRST.items()))
def test_expected_first_expansion(table: AbbreviationTable, abbreviation: str, first: str) -> None:
    entry = table.get(abbreviation)
    assert entry is not None
    assert entry.expansions[0] == first


@pytest.mark.parametrize(
    ("abbreviation", "sense"),
    [
        ("PCR", "proteína C reactiva"),
        ("EM", "estenosis mitral"),
        ("EM", "esclerosis múltiple"),
        ("IRA", "insuficiencia respiratoria aguda"),
        ("HTP", "hipertensión portal"),
        ("EP", "enfermedad de Parkinson"),
        ("EA", "enfermedad de Alzheimer"),
    ],
)
def test_ambiguous_abbreviations_list_several_senses(
    table: AbbreviationTable, abbreviation: str, sense: str
) -> None:
    entry = table.get(abbreviation)
    assert entry is not None
    assert len(entry.expansions) >= 2
    assert sense in entry.expansions


def test_every_expansion_is_sensible(table: AbbreviationTable) -> None:
    for entry in table:
        assert entry.expansions, entry
        for sense in entry.expansions:
            assert sense, entry
            assert sense == sense.strip(), entry
            assert normalize_text(sense) != normalize_text(entry.abbreviation), entry
            # lower case; proper names and acronyms only inside ("de Crohn", "segmento ST")
            assert sense[0].islower() or sense.split()[0] in PROPER_NAME_STARTS, entry


def test_shipped_file_has_no_duplicates_and_three_columns() -> None:
    lines = DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "abbreviation\texpansion\tnote"
    keys = [normalize_text(line.split("\t")[0]) for line in lines[1:] if line.strip()]
    assert len(keys) == len(set(keys))
    assert all(line.count("\t") == 2 for line in lines if line.strip())


def test_get_folds_case_accents_and_dots(table: AbbreviationTable) -> None:
    assert table.get("iam") == table.get("IAM") == table.get("I.A.M")
    assert table.get("acxfa") == table.get("ACxFA")
    assert table.get("no-such-abbreviation") is None
    assert 42 not in table


# --- find ---------------------------------------------------------------------------------


def test_find_offsets_refer_to_original_text(table: AbbreviationTable) -> None:
    text = "Varón con HTA, DM2 y ACxFA; ingresa por IAM inferior."
    found = table.find(text)
    assert [f.token for f in found] == ["HTA", "DM2", "ACxFA", "IAM"]
    for item in found:
        assert text[item.start : item.end] == item.token
    assert found[0] == Expansion("HTA", 10, 13, ("hipertensión arterial",))


def test_find_offsets_with_accented_text_before(table: AbbreviationTable) -> None:
    text = "Señora de 80 años, diagnóstico: EPOC"
    (item,) = table.find(text)
    assert text[item.start : item.end] == "EPOC"
    assert item.start == text.index("EPOC")


def test_find_is_case_insensitive_for_longer_abbreviations(table: AbbreviationTable) -> None:
    assert [f.token for f in table.find("hta y epoc, dm2")] == ["hta", "epoc", "dm2"]


def test_find_matches_whole_tokens_only(table: AbbreviationTable) -> None:
    # an abbreviation inside a longer token is not matched
    assert table.find("HTAX") == []
    assert table.find("hematoma") == []


def test_find_reads_slashes_and_dotted_acronyms(table: AbbreviationTable) -> None:
    text = "ACV/AIT previo, H.T.A. de larga evolución"
    found = table.find(text)
    assert [f.token for f in found] == ["ACV", "AIT", "H.T.A"]
    assert [text[f.start : f.end] for f in found] == ["ACV", "AIT", "H.T.A"]


def test_find_ignores_species_initials(table: AbbreviationTable) -> None:
    assert [f.token for f in table.find("ITU por E. coli")] == ["ITU"]
    assert [f.token for f in table.find("ITU por e.coli")] == ["ITU"]


def test_find_reads_upper_case_plurals(table: AbbreviationTable) -> None:
    (item,) = table.find("ITUs de repetición")
    assert item.token == "ITUs"
    assert item.expansions[0] == "infección del tracto urinario"


def test_ca_before_a_number_is_a_lab_value(table: AbbreviationTable) -> None:
    assert table.find("CA 125 elevado") == []
    assert table.find("CA 19-9 normal") == []
    assert [f.token for f in table.find("Ca de colon")] == ["Ca"]


# --- case rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["paciente con fiebre", "la rodilla", "es alérgico", "a ir a la consulta"]
)
def test_spanish_function_words_are_never_expanded(table: AbbreviationTable, text: str) -> None:
    assert table.find(text) == []
    assert table.expand(text) == text


def test_function_words_in_table_still_never_expand(tmp_path: Path) -> None:
    custom = AbbreviationTable.from_tsv(
        write_tsv(tmp_path, "CON\tcontusión\t\nLA\tlinfadenitis aguda\t\nHTA\thipertensión\t\n")
    )
    assert [f.token for f in custom.find("paciente CON HTA y con LA")] == ["HTA"]


def test_short_abbreviation_needs_upper_case(table: AbbreviationTable) -> None:
    assert table.find("ic") == []
    assert [f.token for f in table.find("IC")] == ["IC"]
    assert [f.token for f in table.find("Ic descompensada")] == ["Ic"]
    assert table.expand("fa en do mayor") == "fa en do mayor"
    assert table.expand("FA paroxística") == "fibrilación auricular paroxística"


def test_word_collisions_need_full_upper_case(table: AbbreviationTable) -> None:
    assert table.expand("les explico el tratamiento") == "les explico el tratamiento"
    assert table.expand("Les explico el tratamiento") == "Les explico el tratamiento"
    assert table.expand("LES con nefritis") == "lupus eritematoso sistémico con nefritis"
    assert table.find("pan integral") == []
    assert table.find("FR 28 rpm") == []
    assert [f.token for f in table.find("RPM de 12 horas")] == ["RPM"]


def test_lower_case_allowed_when_table_spells_it_so(table: AbbreviationTable) -> None:
    assert table.expand("ca de mama izquierda") == "carcinoma de mama izquierda"
    assert table.expand("fx de cadera dcha") == "fractura de cadera derecha"


# --- expand -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expanded"),
    [
        ("IAM inferior", "infarto agudo de miocardio inferior"),
        ("DM2 con nefropatía", "diabetes mellitus tipo 2 con nefropatía"),
        ("EPOC reagudizado", "enfermedad pulmonar obstructiva crónica reagudizado"),
        ("ERC estadio 3b", "enfermedad renal crónica estadio 3b"),
        ("TVP femoral derecha", "trombosis venosa profunda femoral derecha"),
        ("catarata senil nuclear OD", "catarata senil nuclear ojo derecho"),
        ("HTA", "hipertensión arterial"),
        ("fractura de cadera", "fractura de cadera"),
        ("", ""),
    ],
)
def test_expand_examples(table: AbbreviationTable, query: str, expanded: str) -> None:
    assert table.expand(query) == expanded


def test_expand_keeps_surrounding_punctuation(table: AbbreviationTable) -> None:
    assert table.expand("(HTA), DLP.") == "(hipertensión arterial), dislipemia."


# --- malformed files ----------------------------------------------------------------------


def test_from_tsv_reads_notes_and_senses(tmp_path: Path) -> None:
    custom = AbbreviationTable.from_tsv(
        write_tsv(
            tmp_path, "HTA\thipertensión arterial\t\n\nEM\tesclerosis múltiple | x\tambigua\n"
        )
    )
    assert len(custom) == 2
    assert custom.get("em") == Abbreviation("EM", ("esclerosis múltiple", "x"), "ambigua")


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("HTA\thipertensión arterial\n", 2, "columns"),
        ("HTA\thipertensión arterial\t\t\n", 2, "columns"),
        ("HTA\thipertensión arterial\t\nIAM\t\t\n", 3, "empty expansion"),
        ("HTA\thipertensión arterial\t\n\n\tinfarto\t\n", 4, "empty abbreviation"),
        ("EM\testenosis mitral | \tambigua\n", 2, "empty sense"),
        ("HTA\thipertensión arterial\t\nhta\totra cosa\t\n", 3, "duplicate"),
        ("HTA\thipertensión arterial\t\nH.T.A\totra cosa\t\n", 3, "first on line 2"),
        ("HTA\tHTA\t\n", 2, "repeats"),
        ("H TA\thipertensión\t\n", 2, "whitespace"),
    ],
)
def test_malformed_lines_raise_with_line_number(
    tmp_path: Path, body: str, line: int, fragment: str
) -> None:
    path = write_tsv(tmp_path, body)
    with pytest.raises(AbbreviationFileError) as info:
        AbbreviationTable.from_tsv(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"abbr.tsv:{line}:")
    assert isinstance(info.value, ValueError)


def test_missing_header_is_an_error(tmp_path: Path) -> None:
    path = write_tsv(tmp_path, "HTA\thipertensión arterial\t\n", header="")
    with pytest.raises(AbbreviationFileError, match=r"abbr\.tsv:1:"):
        AbbreviationTable.from_tsv(path)


def test_constructor_rejects_duplicates() -> None:
    entry = Abbreviation("HTA", ("hipertensión arterial",), "")
    with pytest.raises(ValueError, match="duplicate"):
        AbbreviationTable([entry, Abbreviation("hta", ("otra",), "")])


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("IMC 36", "índice de masa corporal 36"),
        ("dolor en FID", "dolor en fosa ilíaca derecha"),
        ("DM-NID", "diabetes mellitus-no insulinodependiente"),
        ("enfermedad de VHL", "enfermedad de von Hippel-Lindau"),
        ("infección FAVI", "infección fístula arteriovenosa interna"),
    ],
)
def test_abbreviations_codiesp_train_uses(
    table: AbbreviationTable, text: str, expanded: str
) -> None:
    assert table.expand(text) == expanded


def test_ambiguous_codiesp_abbreviation_keeps_every_reading(table: AbbreviationTable) -> None:
    assert table.get("NET").expansions == ("necrólisis epidérmica tóxica", "tumor neuroendocrino")
