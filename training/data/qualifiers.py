"""Spanish renderings of ICD-10-CM qualifiers, for codes whose Spanish title is inherited.

About 87% of CM codes have no WHO Spanish title of their own, only a category's
("Fractura del cuello de fémur" for ``S72.001A``). Where every step from that category down
to the code only adds qualifiers that a small curated glossary can say in Spanish (side,
7th-character episode, "with/without ..." phrases, acute/chronic) or narrows to the
"unspecified" member, the code's Spanish query is the category title plus those qualifiers:
``S72.001A`` -> "Fractura del cuello de fémur derecho, contacto inicial por fractura
cerrada". Any other step (a word the glossary does not know: "base", "other",
"displaced") means no Spanish is produced for the code: a Spanish title is never invented.

The English is compared word by word (folded, light plural stemming); the comparison is
deliberately strict, so rendered codes are few but right.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from app.catalog.spanish import SOURCE_ANCESTOR, SOURCE_EDITION, SOURCE_OWN
from app.catalog.store import CodeRecord
from app.search.normalize import strip_accents
from training.data.catalog_view import CatalogView
from training.data.glossary import (
    BILATERAL,
    BODY_PARTS,
    GENDERED_QUALIFIERS,
    IGNORABLE,
    LEFT,
    NOS_WORDS,
    QUALIFIER_PHRASES,
    RIGHT,
    SIDE_WORDS,
    guess_gender,
    seventh_spanish,
)

_WORD = re.compile(r"[a-z0-9]+")
_EYE = BODY_PARTS["eye"]


@dataclass(frozen=True)
class SpanishRendering:
    """A code's Spanish text and its parts (so variants can re-phrase one part).

    Attributes:
        base: the Spanish title the text starts from (own or the ancestor's).
        side: ``right``/``left``/``bilateral`` or None.
        body: Spanish name of the body part the side qualifies ("tibia"), or None.
        gender: ``m``/``f`` of ``body``.
        attached: True when ``base`` ends with ``body`` (the side word just follows).
        qualifiers: Spanish qualifier fragments, in order.
        episode: Spanish 7th-character phrase ("contacto inicial") or None.
        seventh: the code's 7th character ("A") or None.
        inherited: True when ``base`` is an ancestor's title.

    Example: ``render(view, view.records["S72.001A"]).text``
    """

    base: str
    side: str | None = None
    body: str | None = None
    gender: str | None = None
    attached: bool = False
    qualifiers: tuple[str, ...] = ()
    episode: str | None = None
    seventh: str | None = None
    inherited: bool = False

    @property
    def text(self) -> str:
        """The full Spanish text, with the side as a full word."""
        return compose(self)


def side_word(side: str, gender: str | None, abbreviated: bool = False) -> str:
    """Spanish for a side agreeing with ``gender`` ("derecha", "izdo").

    Example: ``side_word("right", "f", abbreviated=True) == "dcha"``
    """
    masc, fem, masc_abbr, fem_abbr = SIDE_WORDS[side]
    if gender == "f":
        return fem_abbr if abbreviated else fem
    return masc_abbr if abbreviated else masc


def side_phrase(rendering: SpanishRendering, abbreviated: bool = False) -> str:
    """The side as it follows the base: " derecha", ", mano derecha", ", lado derecho"
    ("" without a side).

    Example: ``side_phrase(r)`` -> " izquierda" for "... de la tibia" + left
    """
    if not rendering.side:
        return ""
    word = side_word(rendering.side, rendering.gender, abbreviated)
    if rendering.side == BILATERAL:
        return (" " if rendering.attached else ", ") + word
    if rendering.attached:
        return " " + word
    if rendering.body:
        return f", {rendering.body} {word}"
    return f", lado {side_word(rendering.side, 'm', abbreviated)}"


def compose(
    rendering: SpanishRendering,
    *,
    base: str | None = None,
    abbreviated_side: bool = False,
    episode: str | None = None,
) -> str:
    """Join base, side, qualifiers and episode with commas.

    Args:
        rendering: the parts.
        base: a replacement base text (a variant of the title).
        abbreviated_side: "dcha" instead of "derecha".
        episode: a replacement episode phrase (default: the rendering's).

    Example: ``compose(r, abbreviated_side=True)`` -> "Fractura del cuello de fémur dcho, ..."
    """
    text = (rendering.base if base is None else base) + side_phrase(rendering, abbreviated_side)
    phrase = rendering.episode if episode is None else episode
    return ", ".join([text, *rendering.qualifiers, *([phrase] if phrase else [])])


def english_words(title: str) -> list[str]:
    """Folded words of an English title with light plural stemming.

    Example: ``english_words("Injury of nerves, NOS") == ["injury", "of", "nerve", "nos"]``
    """
    words = _WORD.findall(strip_accents(title.casefold()).replace("-", " "))
    return [_stem(w) for w in words]


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_PHRASES = sorted(
    ((tuple(english_words(k)), v) for k, v in QUALIFIER_PHRASES.items()),
    key=lambda kv: -len(kv[0]),
)
_GENDERED = sorted(
    ((tuple(english_words(k)), v) for k, v in GENDERED_QUALIFIERS.items()),
    key=lambda kv: -len(kv[0]),
)
_BODY_PARTS = sorted(
    ((tuple(english_words(k)), names) for k, names in BODY_PARTS.items()),
    key=lambda kv: -len(kv[0]),
)


def _find(words: Sequence[str], phrase: Sequence[str]) -> int:
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) == tuple(phrase):
            return i
    return -1


@dataclass(frozen=True)
class _Step:
    side: str | None = None
    names: tuple[tuple[str, str], ...] | None = None
    qualifiers: tuple[str, ...] = ()
    episode: str | None = None


def _body_part(words: Sequence[str], start: int) -> tuple[tuple[str, str], ...] | None:
    """Spanish names of the body part named within 4 words after ``start``."""
    window = words[start : start + 4]
    for offset in range(len(window)):
        for phrase, names in _BODY_PARTS:
            if tuple(window[offset : offset + len(phrase)]) == phrase:
                return names
    return None


def _fold_es(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", strip_accents(text.casefold())))


def place_side(
    base: str, names: tuple[tuple[str, str], ...] | None
) -> tuple[str | None, str | None, bool]:
    """Where a side goes in ``base``: ``(body noun, gender, attached)``.

    ``attached`` is True when ``base`` ends with one of the body part's Spanish names (the
    side adjective follows it); else the first name is repeated after a comma. Without a
    known body part: ``(None, None, False)`` ("lado derecho").

    Example: ``place_side("Fractura de la tibia", BODY_PARTS["tibia"]) == ("tibia", "f", True)``
    """
    if not names:
        return None, None, False
    folded = _fold_es(base)
    for noun, gender in names:
        if folded == _fold_es(noun) or folded.endswith(" " + _fold_es(noun)):
            return noun, gender, True
    noun, gender = names[0]
    return noun, gender, False


def _title_step(parent: str, child: str, base: str) -> _Step | None:
    """What ``child`` adds to ``parent`` (English titles), in Spanish; None if unknown."""
    p_words, c_words = english_words(parent), english_words(child)
    extra = Counter(c_words) - Counter(p_words)
    missing = Counter(p_words) - Counter(c_words)
    qualifiers: list[str] = []
    side = names = None
    for phrase, spanish in [*_PHRASES, *_GENDERED]:
        at = _find(c_words, phrase)
        if at < 0 or _find(p_words, phrase) >= 0 or any(extra[w] <= 0 for w in phrase):
            continue
        if isinstance(spanish, tuple):
            if at != 0:  # "acute"/"chronic" must qualify the head noun: the first word
                return None
            head_gender = guess_gender(base)
            if head_gender is None:
                return None
            spanish = spanish[0] if head_gender == "m" else spanish[1]
        qualifiers.append(spanish)
        extra.subtract(phrase)
    sides = [s for s in (RIGHT, LEFT, BILATERAL) if extra[s] > 0]
    if len(sides) > 1:
        return None
    if sides:
        side = sides[0]
        extra[side] -= 1
        names = _body_part(c_words, c_words.index(side) + 1)
    leftover = {w for w, n in extra.items() if n > 0 and w not in IGNORABLE}
    if leftover:
        return None
    # A step may drop parent words only to name the unspecified member ("Fracture of head
    # and neck of femur" -> "Fracture of unspecified part of neck of femur").
    lost = {w for w, n in missing.items() if n > 0 and w not in IGNORABLE}
    unspecified_part = extra["unspecified"] > 0 and any(extra[w] > 0 for w in NOS_WORDS)
    if lost and (qualifiers or side or not unspecified_part):
        return None
    return _Step(side, names, tuple(qualifiers))


def _seventh_step(view: CatalogView, parent: CodeRecord, child: CodeRecord) -> _Step | None:
    meaning = view.seventh.get(child.code)
    if not meaning or not child.title_en.endswith(meaning):
        return None
    if child.title_en[: -len(meaning)].rstrip(", ") != parent.title_en.rstrip(", "):
        return None
    kind = seventh_spanish(meaning)
    if kind is None:
        return None
    if kind[0] == "side":
        return _Step(side=kind[1], names=_EYE)
    if kind[0] == "episode":
        return _Step(episode=kind[1])
    return _Step()


def render(view: CatalogView, record: CodeRecord) -> SpanishRendering | None:
    """The Spanish text of a code: its own title, or its category's plus qualifiers.

    Returns None when the code has no Spanish title, or when some step from the titled
    ancestor down to the code adds something the glossary cannot say, or when the last
    step adds nothing (the text would equal the parent's).

    Example: ``render(view, view.records["S72.001A"]).text`` is
    "Fractura del cuello de fémur derecho, contacto inicial por fractura cerrada"
    """
    if not record.title_es:
        return None
    seventh = record.code[7] if record.kind == "extended" and len(record.code) == 8 else None
    if record.title_es_source in (SOURCE_OWN, SOURCE_EDITION):
        return SpanishRendering(record.title_es, seventh=seventh)
    if record.title_es_source != SOURCE_ANCESTOR or not record.title_es_from:
        return None
    chain = view.chain(record.title_es_from, record.code)
    if chain is None or len(chain) < 2:
        return None
    side = names = episode = None
    qualifiers: list[str] = []
    step = None
    for parent, child in zip(chain, chain[1:], strict=False):
        if child.kind == "extended":
            step = _seventh_step(view, parent, child)
        else:
            step = _title_step(parent.title_en, child.title_en, record.title_es)
        if step is None:
            return None
        if step.side:
            if side is not None:
                return None
            side, names = step.side, step.names
        qualifiers.extend(step.qualifiers)
        episode = step.episode or episode
    if step is None or not (step.side or step.qualifiers or step.episode):
        return None
    body, gender, attached = place_side(record.title_es, names) if side else (None, None, False)
    return SpanishRendering(
        record.title_es,
        side,
        body,
        gender,
        attached,
        tuple(qualifiers),
        episode,
        seventh,
        inherited=True,
    )
