"""The CIE-10-ES Spanish phrases of 7th characters, read from the ICD-10-CM English meaning.

CIE-10-ES titles a 7th-character code "<6-character title>, <phrase>": "contacto inicial",
"contacto sucesivo", "secuela", and for fractures "contacto inicial por fractura cerrada",
"contacto sucesivo por fractura abierta tipo I o II con retardo de consolidación"... The
phrase is composed from the parts of the English meaning, each with its official Spanish
wording; a meaning with any part outside this table (coma scale times, eyes, stages,
fetuses) has no Spanish phrase, and the English one is shown: a wrong Spanish phrase is
worse than an English one.
"""

from __future__ import annotations

import re

from app.codes import category_of

#: English part -> CIE-10-ES wording, tried in this order at the start of what remains.
_PARTS: tuple[tuple[str, str], ...] = (
    ("initial encounter", "contacto inicial"),
    ("subsequent encounter", "contacto sucesivo"),
    ("sequela", "secuela"),
    (" for closed fracture", " por fractura cerrada"),
    (" for open fracture", " por fractura abierta"),
    (" for fracture", " por fractura"),
    (" of fracture", " de fractura"),
    (" type I or II", " tipo I o II"),
    (" type IIIA, IIIB, or IIIC", " tipo IIIA, IIIB o IIIC"),
    (" with routine healing", " con curas rutinarias"),
    (" with delayed healing", " con retardo de consolidación"),
    (" with nonunion", " con fracaso de consolidación"),
    (" with malunion", " con unión defectuosa"),
)
#: Where CIE-10-ES words a phrase of one category its own way: (category, char) -> phrase.
_OWN: dict[tuple[str, str], str] = {
    ("S72", "B"): "contacto inicial por fractura abierta tipo I, II o NEOM",
}
_SPACE = re.compile(r"\s+")


def spanish_meaning(meaning: str, code: str = "", char: str = "") -> str | None:
    """The CIE-10-ES phrase of a 7th character's English ``meaning`` (for the code whose
    category is ``code``'s and the character ``char``), or None when it is not known.

    Example: ``spanish_meaning("subsequent encounter for closed fracture with routine
    healing") == "contacto sucesivo por fractura cerrada con curas rutinarias"``
    """
    own = _OWN.get((category_of(code), char.upper())) if code and char else None
    if own is not None:
        return own
    rest, out = _SPACE.sub(" ", meaning.strip()), []
    while rest:
        for english, spanish in _PARTS:
            if rest.startswith(english):
                out.append(spanish)
                rest = rest[len(english):]
                break
        else:
            return None
    return "".join(out) or None
