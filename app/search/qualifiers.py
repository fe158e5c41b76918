"""The one qualifier vocabulary: laterality, episode, acuity, complication, severity, type.

Explanations (what tells two siblings apart), query understanding (``Query.qualifiers``) and
the ranker's agreement features all read qualifiers here, in Spanish and English, so a query
word ``derecha`` and a title word ``right`` are the same concept ``right``.

Words are compared after case and accent folding with a light stemming rule
(:func:`word_forms`): a plural ``-s``/``-es`` and then a final gender vowel may be dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

#: Qualifier concepts: their aspect and their folded words in English and Spanish.
QUALIFIERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "right": ("laterality", ("right", "derecho", "derecha", "dcho", "dcha", "dch", "der")),
    "left": ("laterality", ("left", "izquierdo", "izquierda", "izdo", "izda", "izq")),
    "bilateral": ("laterality", ("bilateral", "bilaterales", "ambos", "ambas")),
    "initial": ("episode", ("initial", "inicial")),
    "subsequent": ("episode", ("subsequent", "sucesivo", "sucesiva")),
    "sequela": ("episode", ("sequela", "sequelae", "secuela")),
    "acute": ("acuity", ("acute", "agudo", "aguda")),
    "subacute": ("acuity", ("subacute", "subagudo", "subaguda")),
    "chronic": ("acuity", ("chronic", "cronico", "cronica")),
    "exacerbation": (
        "acuity",
        ("exacerbation", "exacerbacion", "exacerbado", "exacerbada", "reagudizado",
         "reagudizada", "reagudizacion", "agudizacion", "agudizado", "agudizada",
         "descompensado", "descompensada", "descompensacion"),
    ),
    "complicated": (
        "complication",
        ("complication", "complicated", "complicacion", "complicado", "complicada"),
    ),
    "uncomplicated": ("complication", ("uncomplicated",)),
    "with": ("complication", ("with", "con")),
    "without": ("complication", ("without", "sin")),
    "mild": ("severity", ("mild", "leve")),
    "moderate": ("severity", ("moderate", "moderado", "moderada")),
    "severe": ("severity", ("severe", "severo", "severa", "grave")),
    "open": ("fracture", ("open", "abierta", "abierto", "expuesta", "expuesto")),
    "closed": ("fracture", ("closed", "cerrada", "cerrado")),
    "displaced": ("displacement", ("displaced", "desplazada", "desplazado")),
    "nondisplaced": ("displacement", ("nondisplaced",)),
}

#: Aspects whose concepts exclude each other: a code saying one while the query says
#: another is in conflict ("with"/"without" are too weak to conflict).
EXCLUSIVE_ASPECTS = ("laterality", "episode", "acuity", "severity", "fracture", "displacement",
                     "diabetes_type")

#: Concepts that add to their aspect instead of replacing it: an exacerbation is of a chronic
#: disease ("EPOC reagudizado" is chronic *and* exacerbated), so it never conflicts; a code
#: that lacks it misses it.
ADDITIVE = frozenset({"exacerbation"})

# "tipo 2", "type II", "DM2" (after abbreviation expansion: "diabetes mellitus tipo 2")
_TYPE_WORDS = frozenset({"tipo", "type"})
_TYPE_VALUES = {"1": "type1", "i": "type1", "2": "type2", "ii": "type2"}


@lru_cache(maxsize=16384)
def word_forms(word: str) -> frozenset[str]:
    """The forms a folded word matches by: itself, without a plural ending, without a final
    gender vowel. Two words match when their forms intersect.

    Example: ``word_forms("fracturas") == {"fracturas", "fractura", "fractur"}``
    """
    forms = {word}
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
        if len(word) > 4 and word.endswith("es"):
            forms.add(word[:-2])
    for form in list(forms):
        # short words keep their vowel: "cono" must not become "con"
        if len(form) > 4 and form[-1] in "aoe":
            forms.add(form[:-1])
    return frozenset(forms)


_CONCEPTS: dict[str, str] = {
    form: concept
    for concept, (_, words) in QUALIFIERS.items()
    for word in words
    for form in word_forms(word)
}


def concept_of(folded: str) -> str | None:
    """The qualifier concept a folded word names, or None.

    Example: ``concept_of("derecha") == "right"``
    """
    return next((_CONCEPTS[f] for f in word_forms(folded) if f in _CONCEPTS), None)


def aspect_of(concept: str) -> str:
    """The aspect of a concept. Example: ``aspect_of("right") == "laterality"``"""
    if concept in ("type1", "type2"):
        return "diabetes_type"
    return QUALIFIERS[concept][0]


def read_qualifiers(tokens: Sequence[str]) -> frozenset[str]:
    """The qualifier concepts that folded tokens state (``with``/``without`` excluded: they
    qualify whatever follows, which is read elsewhere).

    Example: ``read_qualifiers(["fractura", "cadera", "derecha"]) == {"right"}``
    """
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if token in _TYPE_WORDS and i + 1 < len(tokens) and tokens[i + 1] in _TYPE_VALUES:
            found.add(_TYPE_VALUES[tokens[i + 1]])
            continue
        concept = concept_of(token)
        if concept and concept not in ("with", "without"):
            found.add(concept)
    return frozenset(found)


def agreement(query: frozenset[str], code: frozenset[str]) -> tuple[int, int, int]:
    """``(agree, conflict, missing)``: concepts both state; exclusive aspects where they state
    different concepts; query concepts whose aspect the code does not state at all.

    Example: ``agreement(frozenset({"right"}), frozenset({"left"})) == (0, 1, 0)``
    """
    agree = len(query & code)
    code_aspects: dict[str, set[str]] = {}
    for concept in code - ADDITIVE:
        code_aspects.setdefault(aspect_of(concept), set()).add(concept)
    conflict = missing = 0
    for concept in query - code:
        aspect = aspect_of(concept)
        if concept in ADDITIVE or aspect not in code_aspects:
            missing += 1
        elif aspect in EXCLUSIVE_ASPECTS:
            conflict += 1
    return agree, conflict, missing
