"""Curated English -> Spanish glossary of ICD-10-CM qualifiers: sides and the body parts
they qualify, "with/without ..." phrases, acute/chronic, and 7th-character meanings.

Only terms whose Spanish the project is sure of are listed; :mod:`training.data.qualifiers`
renders a code in Spanish only when everything its English adds is in here.
"""

from __future__ import annotations

import re

from app.search.normalize import strip_accents

RIGHT, LEFT, BILATERAL = "right", "left", "bilateral"

#: Side -> (masculine, feminine, masculine abbreviation, feminine abbreviation).
SIDE_WORDS: dict[str, tuple[str, str, str, str]] = {
    RIGHT: ("derecho", "derecha", "dcho", "dcha"),
    LEFT: ("izquierdo", "izquierda", "izdo", "izda"),
    BILATERAL: ("bilateral", "bilateral", "bilat", "bilat"),
}

#: Spanish names (with gender) of English body parts that follow "right"/"left" in CM
#: titles. When the Spanish title ends with one of the names the side agrees with it and is
#: appended ("... de la tibia" -> "... de la tibia izquierda"); otherwise the first name is
#: repeated after a comma ("..., mano derecha"). Multi-word English keys are matched first.
BODY_PARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "upper limb": (("miembro superior", "m"),),
    "lower limb": (("miembro inferior", "m"),),
    "upper arm": (("brazo", "m"),),
    "lower leg": (("pierna", "f"),),
    "upper eyelid": (("párpado superior", "m"), ("párpado", "m")),
    "lower eyelid": (("párpado inferior", "m"), ("párpado", "m")),
    "great toe": (("dedo gordo del pie", "m"), ("pie", "m")),
    "lesser toe": (("dedo del pie", "m"), ("pie", "m")),
    "index finger": (("dedo índice", "m"), ("mano", "f")),
    "middle finger": (("dedo medio", "m"), ("mano", "f")),
    "ring finger": (("dedo anular", "m"), ("mano", "f")),
    "little finger": (("dedo meñique", "m"), ("mano", "f")),
    "fallopian tube": (("trompa de Falopio", "f"), ("trompa", "f")),
    "external ear": (("oído externo", "m"),),
    "middle ear": (("oído medio", "m"),),
    "inner ear": (("oído interno", "m"),),
    "femur": (("fémur", "m"),),
    "hip": (("cadera", "f"),),
    "knee": (("rodilla", "f"),),
    "ankle": (("tobillo", "m"),),
    "foot": (("pie", "m"),),
    "toe": (("dedo del pie", "m"), ("pie", "m")),
    "leg": (("pierna", "f"),),
    "thigh": (("muslo", "m"),),
    "arm": (("brazo", "m"),),
    "forearm": (("antebrazo", "m"),),
    "elbow": (("codo", "m"),),
    "wrist": (("muñeca", "f"),),
    "hand": (("mano", "f"),),
    "finger": (("dedo de la mano", "m"), ("mano", "f")),
    "thumb": (("pulgar", "m"), ("mano", "f")),
    "shoulder": (("hombro", "m"),),
    "clavicle": (("clavícula", "f"),),
    "scapula": (("escápula", "f"), ("omóplato", "m")),
    "humerus": (("húmero", "m"),),
    "radius": (("radio", "m"),),
    "ulna": (("cúbito", "m"),),
    "tibia": (("tibia", "f"),),
    "fibula": (("peroné", "m"),),
    "patella": (("rótula", "f"),),
    "calcaneus": (("calcáneo", "m"),),
    "eye": (("ojo", "m"),),
    "ear": (("oído", "m"), ("oreja", "f")),
    "eyelid": (("párpado", "m"),),
    "orbit": (("órbita", "f"),),
    "breast": (("mama", "f"),),
    "lung": (("pulmón", "m"),),
    "kidney": (("riñón", "m"),),
    "ureter": (("uréter", "m"),),
    "ovary": (("ovario", "m"),),
    "testis": (("testículo", "m"),),
    "buttock": (("nalga", "f"),),
    "cornea": (("córnea", "f"),),
    "retina": (("retina", "f"),),
    "iris": (("iris", "m"),),
    "conjunctiva": (("conjuntiva", "f"),),
    "axilla": (("axila", "f"),),
    "groin": (("ingle", "f"),),
    "cheek": (("mejilla", "f"),),
}

#: English qualifier phrases (folded words) -> Spanish; longest first when matching.
QUALIFIER_PHRASES: dict[str, str] = {
    "without complications": "sin complicaciones",
    "with complications": "con complicaciones",
    "with unspecified complications": "con complicaciones",
    "without coma": "sin coma",
    "with coma": "con coma",
    "with hemorrhage": "con hemorragia",
    "without hemorrhage": "sin hemorragia",
    "with perforation": "con perforación",
    "without perforation": "sin perforación",
    "with hemorrhage and perforation": "con hemorragia y perforación",
    "without hemorrhage or perforation": "sin hemorragia ni perforación",
    "with obstruction": "con obstrucción",
    "without obstruction": "sin obstrucción",
    "with gangrene": "con gangrena",
    "without gangrene": "sin gangrena",
    "with abscess": "con absceso",
    "without abscess": "sin absceso",
    "with bleeding": "con sangrado",
    "without bleeding": "sin sangrado",
    "with aura": "con aura",
    "without aura": "sin aura",
    "with status epilepticus": "con estado epiléptico",
    "without status epilepticus": "sin estado epiléptico",
    "intractable": "intratable",
    "not intractable": "no intratable",
    "with acute exacerbation": "con exacerbación aguda",
    "with exacerbation": "con exacerbación",
    "with acute lower respiratory infection": "con infección aguda de vías respiratorias bajas",
    "in remission": "en remisión",
    "in relapse": "en recaída",
    "with infection": "con infección",
    "without infection": "sin infección",
    "with ulcer": "con úlcera",
    "with ulceration": "con úlcera",
    "recurrent": "recurrente",
    "with fistula": "con fístula",
    "without fistula": "sin fístula",
    "with psychotic symptoms": "con síntomas psicóticos",
    "without psychotic symptoms": "sin síntomas psicóticos",
    "with hypoglycemia": "con hipoglucemia",
    "with hyperglycemia": "con hiperglucemia",
    "with ketoacidosis": "con cetoacidosis",
    "with hyperosmolarity": "con hiperosmolaridad",
    "with peritonitis": "con peritonitis",
    "with pneumonia": "con neumonía",
    "with effusion": "con derrame",
    "without effusion": "sin derrame",
    "open": "abierta",
    "closed": "cerrada",
}

#: Qualifiers that agree in gender with the head noun of the Spanish title.
GENDERED_QUALIFIERS: dict[str, tuple[str, str]] = {
    "acute": ("agudo", "aguda"),
    "chronic": ("crónico", "crónica"),
    "acute on chronic": ("crónico agudizado", "crónica agudizada"),
}

#: Words that a step may add without changing what the Spanish says.
IGNORABLE = frozenset(
    {
        "of",
        "the",
        "and",
        "or",
        "in",
        "on",
        "at",
        "to",
        "for",
        "a",
        "an",
        "unspecified",
        "side",
        "part",
        "site",
        "nos",
    }
)
#: Words that, with "unspecified", name the unspecified member ("unspecified part of").
NOS_WORDS = ("part", "site", "type")
_FEMININE_ENDINGS = ("itis", "sis", "cion", "sion", "dad", "tud", "umbre", "ie")
_MASCULINE_A = frozenset(
    {"problema", "sistema", "dia", "mapa", "clima", "tema", "esquema", "idioma", "trauma"}
)
_EPISODE = re.compile(
    r"^(?P<when>initial|subsequent) encounter"
    r"(?: for (?P<state>closed |open )?fracture(?: type (?P<type>i or ii|iiia, iiib, or iiic))?"
    r"(?: with (?P<healing>routine healing|delayed healing|nonunion|malunion))?)?$"
)
_HEALING = {
    "routine healing": "con consolidación normal",
    "delayed healing": "con retardo de consolidación",
    "nonunion": "con pseudoartrosis",
    "malunion": "con consolidación viciosa",
}
_SEVENTH_FIXED = {
    "sequela": "secuela",
    "sequela of fracture": "secuela de fractura",
    "without tophus (tophi)": "sin tofos",
    "with tophus (tophi)": "con tofos",
    "mild stage": "estadio leve",
    "moderate stage": "estadio moderado",
    "severe stage": "estadio grave",
    "indeterminate stage": "estadio indeterminado",
    "other fetus": "otro feto",
}
#: 7th characters that add nothing (the parent's own rendering already says it).
_SEVENTH_EMPTY = frozenset(
    {"not applicable or unspecified", "stage unspecified", "unspecified eye"}
)
_SEVENTH_SIDE = {"right eye": RIGHT, "left eye": LEFT, "bilateral": BILATERAL}


def guess_gender(spanish_title: str) -> str | None:
    """Gender of the head noun (first word) of a Spanish title, when its ending tells.

    Example: ``guess_gender("Bronquitis obstructiva") == "f"``
    """
    words = strip_accents(spanish_title.casefold()).split()
    if not words:
        return None
    head = words[0].strip(",.()[]")
    if head.endswith(_FEMININE_ENDINGS):
        return "f"
    if head in _MASCULINE_A or head.endswith(("ma", "ema")):
        return "m"
    if head.endswith("a"):
        return "f"
    if head.endswith(("o", "or", "on")):
        return "m"
    return None


def seventh_spanish(meaning: str) -> tuple[str, str | None] | None:
    """Classify a 7th-character meaning: ``("episode", spanish)``, ``("side", side)``,
    ``("empty", None)``; None when the glossary cannot say it.

    Example: ``seventh_spanish("initial encounter") == ("episode", "contacto inicial")``
    """
    key = " ".join(meaning.casefold().split())
    if key in _SEVENTH_EMPTY:
        return ("empty", None)
    if key in _SEVENTH_SIDE:
        return ("side", _SEVENTH_SIDE[key])
    if key in _SEVENTH_FIXED:
        return ("episode", _SEVENTH_FIXED[key])
    fetus = re.fullmatch(r"fetus (\d)", key)
    if fetus:
        return ("episode", f"feto {fetus.group(1)}")
    match = _EPISODE.match(key)
    if not match:
        return None
    parts = ["contacto inicial" if match.group("when") == "initial" else "contacto sucesivo"]
    if key != f"{match.group('when')} encounter":
        fracture = "por fractura"
        state = (match.group("state") or "").strip()
        if state:
            fracture += " cerrada" if state == "closed" else " abierta"
        if match.group("type"):
            fracture += (
                " tipo I o II" if match.group("type") == "i or ii" else " tipo IIIA, IIIB o IIIC"
            )
        if match.group("healing"):
            fracture += " " + _HEALING[match.group("healing")]
        parts.append(fracture)
    return ("episode", " ".join(parts))
