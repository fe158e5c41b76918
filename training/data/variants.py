"""Pure text variants of a Spanish title, the way coders type it: abbreviations, dropped
articles, inverted word order, episode phrasings, lost accents and typos."""

from __future__ import annotations

import random
import re

from app.search.abbreviations import AbbreviationTable
from app.search.normalize import strip_accents

#: Short phrasings of the three episode 7th characters (A, D, S) a coder types; the full
#: phrase comes from :func:`training.data.qualifiers.seventh_spanish`.
EPISODE_PHRASES: dict[str, tuple[str, ...]] = {
    "A": ("contacto inicial", "inicial", "primer contacto", "episodio inicial"),
    "D": ("contacto sucesivo", "sucesivo", "contacto posterior", "episodio sucesivo"),
    "S": ("secuela", "secuelas"),
}
_ARTICLES = frozenset({"el", "la", "los", "las", "del", "de", "un", "una"})
_INVERTIBLE = re.compile(
    r"^(?P<head>[^,:()\[\]]+?)\s+(?:del|de la|de los|de las|de)\s+(?P<rest>[^,:()\[\]]+)$",
    re.IGNORECASE,
)
_DE_ARTICLE = re.compile(r"\b(?:del|de la|de los|de las)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")


def fold_chars(text: str) -> str:
    """Lower case without accents, one character per input character (offsets survive).

    Example: ``fold_chars("Fémur") == "femur"``
    """
    return "".join((strip_accents(ch).lower() or ch)[:1] for ch in text)


class Abbreviator:
    """Replaces expansions by their abbreviations (one compiled pattern for the table).

    Example: ``Abbreviator(table)("Infarto agudo de miocardio inferior") == "IAM inferior"``
    """

    def __init__(self, table: AbbreviationTable) -> None:
        self.by_sense: dict[str, str] = {}
        for entry in table:
            for sense in entry.expansions:
                self.by_sense.setdefault(fold_chars(sense), entry.abbreviation)
        senses = sorted(self.by_sense, key=lambda sense: (-len(sense), sense))
        alternation = "|".join(re.escape(sense) for sense in senses)
        self.pattern = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")

    def __call__(self, text: str) -> str | None:
        """Replace every expansion (any sense, whole words, ignoring case and accents);
        None when none occurs."""
        out, position = [], 0
        for match in self.pattern.finditer(fold_chars(text)):
            out.append(text[position : match.start()] + self.by_sense[match.group()])
            position = match.end()
        return "".join(out) + text[position:] if out else None


def drop_articles(text: str) -> str | None:
    """Telegraphic style: articles and "de/del" dropped; None if nothing changes or fewer
    than two words remain.

    Example: ``drop_articles("Fractura del cuello del fémur") == "Fractura cuello fémur"``
    """
    words = [w for w in text.split() if fold_chars(w) not in _ARTICLES]
    result = " ".join(words)
    return result if result != text and len(words) >= 2 else None


def invert(text: str) -> str | None:
    """Index word order: "<rest>, <head>" for "<head> de <rest>" titles (head of at most
    three words, no commas, colons or brackets); None otherwise.

    Example: ``invert("Fractura del cuello del fémur") == "cuello de fémur, fractura"``
    """
    match = _INVERTIBLE.match(text.strip())
    if not match or len(match.group("head").split()) > 3:
        return None
    rest = _DE_ARTICLE.sub("de", match.group("rest")).lower()
    return f"{rest}, {match.group('head').lower()}"


def drop_accents(text: str) -> str | None:
    """The text without accents (ñ -> n, as typed on a foreign keyboard); None if it has none.

    Example: ``drop_accents("Fractura de fémur") == "Fractura de femur"``
    """
    result = strip_accents(text)
    return result if result != text else None


def _typo_word(text: str, rng: random.Random) -> re.Match[str] | None:
    words = [m for m in _WORD.finditer(text) if len(m.group()) >= 5]
    return rng.choice(words) if words else None


def swap_letters(text: str, rng: random.Random) -> str | None:
    """Swap two adjacent letters inside one word of five letters or more (not the first).

    Example: ``swap_letters("neumonía", random.Random(0))`` -> "nuemonía" or similar
    """
    word = _typo_word(text, rng)
    if word is None:
        return None
    chars = list(word.group())
    options = [i for i in range(1, len(chars) - 1) if chars[i] != chars[i + 1]]
    if not options:
        return None
    i = rng.choice(options)
    chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return text[: word.start()] + "".join(chars) + text[word.end() :]


def drop_letter(text: str, rng: random.Random) -> str | None:
    """Drop one letter (not the first) of one word of five letters or more.

    Example: ``drop_letter("neumonía", random.Random(0))`` -> "neumnía" or similar
    """
    word = _typo_word(text, rng)
    if word is None:
        return None
    i = rng.randrange(1, len(word.group()))
    return text[: word.start() + i] + text[word.start() + i + 1 :]
