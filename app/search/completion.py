"""Complete a code that needs a 7th character into the valid full code the query describes.

Injuries, poisonings, some M/O/R/H codes and others are only valid with a 7th character.
Query words (Spanish or English) such as "contacto sucesivo", "secuela", "fractura abierta",
"pseudoartrosis" or "ojo derecho" choose it; the catalog's English 7th-character meanings are
read with the same phrase table, so a query and a meaning are compared attribute by
attribute. Only codes that exist and are valid in the catalog are ever offered.

Meanings with no phrase here (coma scale time, macular degeneration stages, retinal vein
occlusion) are never read from the query: the unspecified option, else the first, leads.

A code above the 6th-character level (``S72.0``) gives None: the characters it lacks are
site, laterality or type, not an episode, and the catalog has no such code with a single
6-character path to follow, so nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from app.catalog.details import SeventhOption, record_seventh_options
from app.catalog.store import CatalogStore, CodeRecord
from app.search.normalize import tokenize

#: Phrases (folded, comma-separated) per (attribute, value). A value of None marks phrases
#: that only block a shorter match inside them ("herida abierta" is no open fracture,
#: "cirugía de revisión" no follow-up visit).
_PHRASES: dict[tuple[str, str | None], str] = {
    ("episode", "initial"): (
        "inicial, contacto inicial, primer contacto, primera consulta, primera visita, "
        "primera atencion, primera asistencia, atencion inicial, tratamiento inicial, "
        "tratamiento activo, initial, initial encounter, active treatment"
    ),
    ("episode", "subsequent"): (
        "sucesivo, sucesiva, sucesivos, sucesivas, contacto sucesivo, consulta sucesiva, "
        "visita sucesiva, contacto posterior, contactos posteriores, primera revision, "
        "primera visita de control, primera consulta de control, "
        "seguimiento, revision, revisiones, consulta de control, visita de control, "
        "revision de control, control evolutivo, control posterior, acude a control, "
        "acude para control, para control, en control, cura, curas, cambio de yeso, "
        "cambio de escayola, cambio de vendaje, cambio de aposito, retirada de puntos, "
        "retirada de sutura, retirada de suturas, retirada de grapas, retirada de yeso, "
        "retirada del yeso, retirada de escayola, retirada de la escayola, retirada de ferula, "
        "retirada de la ferula, retirada del fijador, retirada de material, "
        "retirada del material, extraccion de puntos, rehabilitacion, subsequent, "
        "subsequent encounter, follow up, aftercare"
    ),
    ("episode", None): (
        "cirugia de revision, revision quirurgica, revision protesica, revision de protesis, "
        "revision de la protesis, artroplastia de revision, protesis de revision"
    ),
    ("episode", "sequela"): (
        "secuela, secuelas, sequela, sequelae, efecto tardio, efectos tardios, late effect, "
        "late effects, secundario a antiguo, secundario a antigua, secundaria a antiguo, "
        "secundaria a antigua, secundarios a antiguo, secundarias a antigua"
    ),
    ("fracture", "open"): "abierta, abiertas, expuesta, expuestas, compuesta, open, compound",
    ("fracture", "closed"): "cerrada, cerradas, no expuesta, no abierta, closed",
    ("fracture", None): (
        "herida abierta, heridas abiertas, herida cerrada, reduccion abierta, reduccion cerrada, "
        "cirugia abierta, via abierta, tecnica abierta, open wound, open wounds, "
        "open reduction, closed reduction"
    ),
    ("open_type", "low"): (
        "tipo i, tipo ii, tipo 1, tipo 2, grado i, grado ii, grado 1, grado 2, type i, type ii, "
        "gustilo i, gustilo ii, gustilo 1, gustilo 2"
    ),
    ("open_type", "high"): (
        "tipo iii, tipo iiia, tipo iiib, tipo iiic, tipo 3, tipo 3a, tipo 3b, tipo 3c, "
        "grado iii, grado iiia, grado iiib, grado iiic, grado 3, grado 3a, grado 3b, grado 3c, "
        "gustilo iii, gustilo iiia, gustilo iiib, gustilo iiic, gustilo 3, gustilo 3a, "
        "gustilo 3b, gustilo 3c, type iii, type iiia, iiia, iiib, iiic"
    ),
    ("healing", "routine"): (
        "consolidacion normal, consolidacion adecuada, consolidacion rutinaria, "
        "buena consolidacion, curacion normal, curacion rutinaria, routine healing"
    ),
    ("healing", "delayed"): (
        "consolidacion retardada, consolidacion retrasada, consolidacion lenta, "
        "retraso de consolidacion, retraso de la consolidacion, retraso en la consolidacion, "
        "retardo de consolidacion, retardo en la consolidacion, curacion retardada, "
        "delayed healing, delayed union"
    ),
    ("healing", "nonunion"): (
        "pseudoartrosis, seudoartrosis, pseudartrosis, no union, falta de consolidacion, "
        "ausencia de consolidacion, no consolidacion, no consolidada, no consolidado, "
        "sin consolidar, nonunion, non union"
    ),
    ("healing", "malunion"): (
        "consolidacion viciosa, consolidacion defectuosa, mala consolidacion, mal consolidada, "
        "mal consolidado, mala union, callo vicioso, malunion, mal union"
    ),
    ("eye", "right"): "ojo derecho, od, right eye",
    ("eye", "left"): "ojo izquierdo, oi, left eye",
    ("eye", "bilateral"): "bilateral, ambos ojos, ao",
    ("eye", "unspecified"): "unspecified eye",
    ("stage", "mild"): "leve, incipiente, mild stage, mild",
    ("stage", "moderate"): "moderado, moderada, moderate stage, moderate",
    ("stage", "severe"): "grave, severo, severa, avanzado, avanzada, terminal, severe",
    ("stage", "indeterminate"): "indeterminado, indeterminada, indeterminate",
    ("stage", "unspecified"): "stage unspecified, estadio no especificado",
    ("tophus", "with"): "con tofo, con tofos, tofos, tofacea, tofaceo, with tophus",
    ("tophus", "without"): "sin tofo, sin tofos, without tophus",
    **{("fetus", str(n)): f"feto {n}, fetus {n}" for n in range(1, 6)},
    ("fetus", "other"): "otro feto, other fetus",
    ("fetus", "unspecified"): (
        "not applicable or unspecified, gestacion unica, embarazo unico, feto unico"
    ),
}

#: What ICD-10-CM assumes when the record does not say: an active (initial) encounter,
#: a closed fracture, open type I/II ("open fracture NOS"), routine healing, the
#: unspecified eye, stage or fetus, no tophus. Earlier attributes weigh more.
_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("episode", "initial"),
    ("fracture", "closed"),
    ("open_type", "low"),
    ("healing", "routine"),
    ("eye", "unspecified"),
    ("stage", "unspecified"),
    ("fetus", "unspecified"),
    ("tophus", "without"),
)
#: Several episodes in one text: a sequela is coded as such even at a follow-up visit,
#: and "primera visita de control" is a follow-up.
_EPISODE_RANK = {"sequela": 0, "subsequent": 1, "initial": 2}

_RAW_WORD = re.compile(r"[^\W_]+")


def _phrase_tables() -> dict[str, dict[tuple[str, ...], str | None]]:
    tables: dict[str, dict[tuple[str, ...], str | None]] = {}
    for (attribute, value), phrases in _PHRASES.items():
        for phrase in phrases.split(", "):
            tables.setdefault(attribute, {})[tuple(phrase.split())] = value
    return tables


_TABLES = _phrase_tables()
_LONGEST = max(len(p) for table in _TABLES.values() for p in table)


@dataclass(frozen=True)
class Cue:
    """One attribute read from text, with the phrases (as written) that said it."""

    attribute: str
    value: str
    words: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class Completion:
    """The valid full code a query points to, and every alternative ranked.

    Attributes:
        title: the full code's title (Spanish when it has one, else English).
        meaning: the ICD-10-CM (English) meaning of the 7th character.
        read_from_query: query words chose it without contradiction; False when it is
            the ICD-10-CM default or simply ranked first.
        cues: the query words that decided it (empty unless ``read_from_query``).
        options: every valid full code, best first (``options[0].code == code``).
        title_es, title_en, meaning_es: as :class:`SeventhOption` has them (the CIE-10-ES
            phrase of the character, the Spanish title built on it; None when not known).
    """

    code: str
    title: str
    char: str
    meaning: str
    read_from_query: bool
    cues: tuple[str, ...]
    options: tuple[SeventhOption, ...]
    meaning_es: str | None = None
    title_es: str | None = None
    title_en: str = ""

    @property
    def meaning_shown(self) -> str:
        """What a Spanish screen shows of the character: its CIE-10-ES phrase, else English."""
        return self.meaning_es or self.meaning

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys)."""
        return {
            "code": self.code,
            "title": self.title,
            "title_es": self.title_es,
            "title_en": self.title_en,
            "char": self.char,
            "meaning": self.meaning,
            "meaning_es": self.meaning_es,
            "read_from_query": self.read_from_query,
            "cues": list(self.cues),
            "options": [
                {"code": o.code, "char": o.char, "meaning": o.meaning, "meaning_es": o.meaning_es}
                for o in self.options
            ],
        }


def _words(text: str) -> list[tuple[str, str]]:
    return [(token, word) for word in _RAW_WORD.findall(text) for token in tokenize(word)]


def _scan(words: list[tuple[str, str]], attribute: str) -> list[Cue]:
    table = _TABLES[attribute]
    tokens = [t for t, _ in words]
    found: list[Cue] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - i), 0, -1):
            span = tuple(tokens[i : i + size])
            if span in table:
                value = table[span]
                if value is not None:
                    text = " ".join(dict.fromkeys(w for _, w in words[i : i + size]))
                    found.append(Cue(attribute, value, (text,), i))
                i += size
                break
        else:
            i += 1
    return found


def _resolve(found: list[Cue]) -> Cue | None:
    if not found:
        return None
    if found[0].attribute == "episode":
        value = min(_EPISODE_RANK[c.value] for c in found)
        found = [c for c in found if _EPISODE_RANK[c.value] == value]
    elif len({c.value for c in found}) > 1:
        return None  # "abierta ... cerrada": two fractures, or a contradiction
    words = tuple(dict.fromkeys(w for c in found for w in c.words))
    return Cue(found[0].attribute, found[0].value, words, found[0].position)


def episode_cues(text: str) -> dict[str, Cue]:
    """Read the 7th-character attributes a text states: episode, open or closed fracture,
    open fracture type, healing, eye, stage and fetus (accent and case folded, whole words).

    Example: ``episode_cues("Fractura abierta, contacto sucesivo")["episode"].value ==
    "subsequent"``
    """
    return dict(_cues(text))


@lru_cache(maxsize=4096)  # the catalog's few meanings and the query recur on every result
def _cues(text: str) -> tuple[tuple[str, Cue], ...]:
    words = _words(text)
    cues = {
        attribute: cue
        for attribute in _TABLES
        if (cue := _resolve(_scan(words, attribute))) is not None
    }
    open_type, fracture = cues.get("open_type"), cues.get("fracture")
    if open_type is not None and (fracture is None or fracture.value != "open"):
        if fracture is None and any(t == "gustilo" for t, _ in words):
            cues["fracture"] = Cue("fracture", "open", open_type.words, open_type.position)
        else:
            # "tipo II" alone is another classification (odontoid, Salter-Harris)
            del cues["open_type"]
    healing = cues.get("healing")
    if healing is not None and "episode" not in cues:
        cues["episode"] = Cue("episode", "subsequent", healing.words, healing.position)
    return tuple(cues.items())


def _agreement(attrs: dict[str, Cue], stated: dict[str, Cue]) -> tuple[list[Cue], int]:
    """The stated cues an option agrees with, and how many it contradicts."""
    agreed = [c for a, c in stated.items() if a in attrs and attrs[a].value == c.value]
    clashes = sum(1 for a, c in stated.items() if a in attrs and attrs[a].value != c.value)
    return agreed, clashes


def _rank_key(index: int, attrs: dict[str, Cue], stated: dict[str, Cue], meaning: str) -> tuple:
    agreed, clashes = _agreement(attrs, stated)
    defaults = tuple(
        -int(a in attrs and attrs[a].value == v) for a, v in _DEFAULTS if a not in stated
    )
    unspecified = -int("unspecified" in meaning or "not applicable" in meaning)
    return (clashes, -len(agreed), defaults, unspecified, index)


def rank_options(
    options: list[SeventhOption], text: str
) -> tuple[list[SeventhOption], tuple[str, ...]]:
    """Order 7th-character options by agreement with ``text``, then by ICD-10-CM defaults.

    A text attribute counts only when some option states that value; an option silent on
    it (a sequela on open/closed) neither agrees nor clashes.

    Returns:
        The ranked options and the words that chose the first one: empty when the text
        said nothing the options distinguish, or the first one clashes with some of it.

    Example: ``rank_options(seventh_options(store, "T81.31"), "secuela")[0][0].char == "S"``
    """
    if not options:
        return [], ()
    parsed = [episode_cues(o.meaning) for o in options]
    offered = {(a, c.value) for attrs in parsed for a, c in attrs.items()}
    stated = {a: c for a, c in episode_cues(text).items() if (a, c.value) in offered}
    keys = [
        _rank_key(i, p, stated, o.meaning)
        for i, (o, p) in enumerate(zip(options, parsed, strict=True))
    ]
    order = sorted(range(len(options)), key=keys.__getitem__)
    ranked = [options[i] for i in order]
    agreed, clashes = _agreement(parsed[order[0]], stated)
    if clashes or not agreed:
        return ranked, ()
    words = (w for c in sorted(agreed, key=lambda c: c.position) for w in c.words)
    return ranked, tuple(dict.fromkeys(words))


def complete(store: CatalogStore, code: str, text: str = "") -> Completion | None:
    """The valid full code to use for ``code`` given the query ``text``, or None when
    ``code`` is unknown, already valid, or not one 7th character away from a valid code.

    Placeholder X is padded (``T81.31`` -> ``T81.31XA``); a typed trailing X is tolerated.

    Example: ``complete(store, "S72.001", "secuela de fractura de cadera").code ==
    "S72.001S"``
    """
    record = store.find(code)
    if record is None and code.strip().upper().endswith("X"):
        record = store.find(code.strip().upper().rstrip("X"))
    return None if record is None else complete_record(store, record, text)


def complete_record(store: CatalogStore, record: CodeRecord, text: str = "") -> Completion | None:
    """:func:`complete` for a record already fetched (the search pipeline has it)."""
    if record.valid:
        return None
    ranked, cues = rank_options(record_seventh_options(store, record), text)
    if not ranked:
        return None
    best = ranked[0]
    return Completion(
        code=best.code,
        title=best.title,
        char=best.char,
        meaning=best.meaning,
        read_from_query=bool(cues),
        cues=cues,
        options=tuple(ranked),
        meaning_es=best.meaning_es,
        title_es=best.title_es,
        title_en=best.title_en,
    )
