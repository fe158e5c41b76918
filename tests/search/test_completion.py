"""7th-character completion on the real default catalog."""

from __future__ import annotations

import pytest

from app.catalog.details import seventh_options
from app.catalog.store import CatalogStore
from app.codes import strip_dot
from app.search.completion import complete, episode_cues, rank_options

#: (code, query, expected full code, read from the query)
CASES = [
    ("S72.001", "fractura de cuello de fémur derecho, contacto sucesivo", "S72.001D", True),
    ("S72.001", "Secuela de fractura de cuello de fémur derecho", "S72.001S", True),
    ("S72.001", "fractura abierta de cuello de fémur derecho, contacto inicial", "S72.001B", True),
    ("S72.001", "fractura de cuello de fémur derecho", "S72.001A", False),
    ("S72.001", "pseudoartrosis de fractura de cuello femoral derecho", "S72.001K", True),
    ("S72.001", "fractura de cadera con CONSOLIDACION RETARDADA", "S72.001G", True),
    ("S72.001", "consolidación viciosa de fractura de cadera", "S72.001P", True),
    ("S72.001", "fractura abierta tipo IIIB de cuello femoral, revisión", "S72.001F", True),
    ("S72.001", "fractura expuesta grado II con seudoartrosis", "S72.001M", True),
    ("S72.001", "fractura de cadera, Gustilo IIIA", "S72.001C", True),
    ("S72.001", "fractura de cuello femoral, reducción abierta", "S72.001A", False),
    ("S72.001", "fractura de cadera con herida abierta", "S72.001A", False),
    ("S72.001", "contacto inicial por secuela de fractura", "S72.001S", True),
    ("S72.001", "subsequent encounter for closed fracture with malunion", "S72.001P", True),
    ("S82.201", "fractura abierta de tibia y cerrada de peroné", "S82.201A", False),
    ("S42.001", "fractura abierta de clavícula derecha", "S42.001B", True),
    ("S42.001", "fractura abierta tipo IIIC de clavícula derecha", "S42.001B", True),
    ("S12.100", "fractura de odontoides tipo II", "S12.100A", False),
    ("S22.5", "tórax inestable, secuelas", "S22.5XXS", True),
    ("S22.5XX", "tórax inestable", "S22.5XXA", False),
    ("T81.31", "dehiscencia de herida quirúrgica", "T81.31XA", False),
    ("t8131", "dehiscencia de herida quirúrgica, cura en consulta de control", "T81.31XD", True),
    ("T39.1X1", "intoxicación por paracetamol, seguimiento", "T39.1X1D", True),
    (
        "T84.031",
        "aflojamiento de prótesis de cadera izquierda, cirugía de revisión",
        "T84.031A",
        False,
    ),
    ("S06.1X7", "secuela de edema cerebral traumático", "S06.1X7A", False),
    ("M80.08", "aplastamiento vertebral osteoporótico, seguimiento", "M80.08XD", True),
    (
        "E11.351",
        "retinopatía diabética proliferativa con edema macular, ojo izquierdo",
        "E11.3512",
        True,
    ),
    ("E11.351", "retinopatía diabética proliferativa con edema macular", "E11.3519", False),
    ("H40.111", "glaucoma primario de ángulo abierto OD, estadio moderado", "H40.1112", True),
    ("O36.593", "crecimiento fetal insuficiente, tercer trimestre, feto 2", "O36.5932", True),
    ("O36.593", "crecimiento fetal insuficiente, tercer trimestre", "O36.5930", False),
    ("M1A.011", "gota crónica idiopática de hombro derecho, tofácea", "M1A.0111", True),
    ("R40.211", "escala de coma, ojos cerrados", "R40.2110", False),
]


@pytest.mark.parametrize(("code", "query", "expected", "read"), CASES)
def test_completion_reads_the_query(
    store: CatalogStore, code: str, query: str, expected: str, read: bool
) -> None:
    assert store.get(expected).valid
    completion = complete(store, code, query)
    assert completion is not None
    assert (completion.code, completion.read_from_query) == (expected, read)
    assert completion.options[0].code == expected
    assert bool(completion.cues) is read


def test_cues_are_the_words_as_written(store: CatalogStore) -> None:
    completion = complete(store, "S72.001", "Fractura expuesta, consolidación retardada")
    assert completion is not None and completion.code == "S72.001H"
    assert completion.cues == ("expuesta", "consolidación retardada")
    assert completion.meaning == store.seventh_characters("S72.001")["H"]
    assert completion.title == store.get("S72.001H").title


@pytest.mark.parametrize(
    "code",
    [
        "S72.001A",  # already valid
        "I10",  # valid, no 7th character
        "I21",  # not valid, but its children are not 7th-character codes
        "S72.0",  # site and laterality still to choose
        "M80.0",
        "S06.0",
        "Z99.999",  # not in the catalog
        "",
    ],
)
def test_no_completion(store: CatalogStore, code: str) -> None:
    assert complete(store, code, "fractura abierta, secuela") is None


def test_options_rank_by_agreement_then_defaults(store: CatalogStore) -> None:
    completion = complete(store, "S72.001", "pseudoartrosis")
    assert completion is not None
    assert [o.char for o in completion.options[:3]] == ["K", "M", "N"]
    assert sorted(o.char for o in completion.options) == sorted(store.seventh_characters("S72.001"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SECUELAS de quemadura", {"episode": "sequela"}),
        ("Revisión en consultas externas", {"episode": "subsequent"}),
        ("cirugía de revisión de la prótesis", {}),
        ("retirada de puntos", {"episode": "subsequent"}),
        ("primera visita de control", {"episode": "subsequent"}),
        ("inicialmente controlado", {}),
        ("fractura no expuesta", {"fracture": "closed"}),
        ("reducción abierta y fijación interna", {}),
        ("fractura de odontoides tipo II", {}),
        ("fractura abierta tipo II", {"fracture": "open", "open_type": "low"}),
        ("Gustilo 3b", {"fracture": "open", "open_type": "high"}),
        ("no unión", {"healing": "nonunion", "episode": "subsequent"}),
        ("mala unión, contacto sucesivo", {"healing": "malunion", "episode": "subsequent"}),
        ("ambos ojos", {"eye": "bilateral"}),
        ("", {}),
    ],
)
def test_episode_cues(text: str, expected: dict[str, str]) -> None:
    assert {a: c.value for a, c in episode_cues(text).items()} == expected


def test_every_episode_meaning_in_the_catalog_is_read(store: CatalogStore) -> None:
    meanings = store.query("SELECT DISTINCT char, meaning FROM seventh_chars")
    episodic = [(c, m) for c, m in meanings if c.isalpha()]
    assert len(episodic) > 20
    expected = {"A": "initial", "B": "initial", "C": "initial", "S": "sequela"}
    for char, meaning in episodic:
        cues = episode_cues(meaning)
        assert cues["episode"].value == expected.get(char, "subsequent"), meaning
        if "open" in meaning or "closed" in meaning:
            assert cues["fracture"].value == ("open" if "open" in meaning else "closed")
        if "healing" in meaning or "union" in meaning:
            assert "healing" in cues, meaning


def test_rank_options_without_options() -> None:
    assert rank_options([], "secuela") == ([], ())


@pytest.fixture(scope="module")
def sample_codes(store: CatalogStore) -> list[str]:
    """About 400 codes that are not valid and have 7th characters, spread over the catalog."""
    rows = store.query("SELECT code FROM codes WHERE seventh_from IS NOT NULL AND valid = 0")
    codes = [r[0] for r in rows]
    assert len(codes) > 1000
    return codes[:: len(codes) // 400]


@pytest.mark.parametrize(
    "query", ["", "secuela", "fractura abierta, contacto sucesivo", "pseudoartrosis"]
)
def test_completions_are_valid_codes_of_the_input(
    store: CatalogStore, sample_codes: list[str], query: str
) -> None:
    completed = 0
    for code in sample_codes:
        completion = complete(store, code, query)
        expected_options = seventh_options(store, code)
        if completion is None:
            assert expected_options == []
            continue
        completed += 1
        assert store.get(completion.code).valid
        assert len(strip_dot(completion.code)) == 7
        assert strip_dot(completion.code).startswith(strip_dot(code).ljust(6, "X"))
        assert strip_dot(completion.code)[6] == completion.char
        assert completion.meaning == store.seventh_characters(code)[completion.char]
        assert completion.options[0].code == completion.code
        assert sorted(o.code for o in completion.options) == sorted(
            o.code for o in expected_options
        )
        assert all(store.get(o.code).valid for o in completion.options)
        if not completion.read_from_query:
            assert completion.cues == ()
        meanings = {o.meaning: o.char for o in completion.options}
        if query == "secuela" and "sequela" in meanings:
            assert completion.char == meanings["sequela"] and completion.read_from_query
        if query == "" and "initial encounter" in meanings:
            assert completion.char == "A" and not completion.read_from_query
    assert completed > 200
