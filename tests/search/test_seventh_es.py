"""The 7th character speaks CIE-10-ES: phrases from one table (``app.catalog.seventh_es``)
in the completion's JSON, the details and the CLI, with the English alongside."""

from __future__ import annotations

from app.catalog.details import code_details, seventh_options
from app.catalog.seventh_es import spanish_meaning
from app.catalog.store import CatalogStore
from app.search.completion import complete

#: The CIE-10-ES fracture phrases (../shared/DESIGN.md, Catalog facts) for S72.
S72_ES = {
    "A": "contacto inicial por fractura cerrada",
    "B": "contacto inicial por fractura abierta tipo I, II o NEOM",
    "C": "contacto inicial por fractura abierta tipo IIIA, IIIB o IIIC",
    "D": "contacto sucesivo por fractura cerrada con curas rutinarias",
    "E": "contacto sucesivo por fractura abierta tipo I o II con curas rutinarias",
    "F": "contacto sucesivo por fractura abierta tipo IIIA, IIIB o IIIC con curas rutinarias",
    "G": "contacto sucesivo por fractura cerrada con retardo de consolidación",
    "H": "contacto sucesivo por fractura abierta tipo I o II con retardo de consolidación",
    "J": "contacto sucesivo por fractura abierta tipo IIIA, IIIB o IIIC con retardo de "
         "consolidación",
    "K": "contacto sucesivo por fractura cerrada con fracaso de consolidación",
    "M": "contacto sucesivo por fractura abierta tipo I o II con fracaso de consolidación",
    "N": "contacto sucesivo por fractura abierta tipo IIIA, IIIB o IIIC con fracaso de "
         "consolidación",
    "P": "contacto sucesivo por fractura cerrada con unión defectuosa",
    "Q": "contacto sucesivo por fractura abierta tipo I o II con unión defectuosa",
    "R": "contacto sucesivo por fractura abierta tipo IIIA, IIIB o IIIC con unión defectuosa",
    "S": "secuela",
}


def test_fracture_and_injury_phrases(store: CatalogStore) -> None:
    assert code_details(store, "S72.001").seventh_characters_es == S72_ES
    s52 = code_details(store, "S52.501").seventh_characters_es
    assert s52["B"] == "contacto inicial por fractura abierta tipo I o II"
    assert code_details(store, "T81.31").seventh_characters_es == {
        "A": "contacto inicial", "D": "contacto sucesivo", "S": "secuela",
    }
    assert code_details(store, "S42.001").seventh_characters_es["B"] == (
        "contacto inicial por fractura abierta"
    )


def test_meanings_without_a_known_phrase_stay_english(store: CatalogStore) -> None:
    for code in ("H40.111", "O32.0", "R40.211"):  # stage, fetus, coma scale time
        assert set(code_details(store, code).seventh_characters_es.values()) == {None}, code
    assert spanish_meaning("initial encounter for something new") is None


def test_completion_json_carries_spanish_and_english(store: CatalogStore) -> None:
    completion = complete(store, "S72.001", "fractura de cuello de fémur, contacto sucesivo")
    data = completion.to_dict()
    assert data["code"] == "S72.001D"
    assert data["meaning_es"] == S72_ES["D"]
    assert data["meaning"] == "subsequent encounter for closed fracture with routine healing"
    assert data["title_en"].endswith(", " + data["meaning"])
    assert data["title_es"] is None  # S72.001 has only its category's Spanish title
    assert {o["char"]: o["meaning_es"] for o in data["options"]} == S72_ES
    own = complete(store, "S02.0", "").to_dict()  # WHO title of its own: CIE-10-ES style
    assert own["title_es"] == "Fractura de la bóveda del cráneo, " + S72_ES["A"]
    assert [o.title_es for o in seventh_options(store, "S02.0")][:1] == [own["title_es"]]

