"""A seeded typist: clinical mentions as a coder types them in a hurry.

Each mention independently

1. loses its accents (``á`` -> ``a``, ``ñ`` -> ``n``, ``ü`` -> ``u``) with probability
   ``accent_p`` (0.5), and
2. with probability ``edit_p`` (0.5) gets one slip in one *long* word (at least
   ``MIN_LONG_WORD`` letters, chosen uniformly): a deleted letter, two neighbouring letters
   swapped, or a doubled letter, each kind equally likely, at a uniform position.

A mention without a long word gets no slip. The random stream of a mention is seeded by
``(seed, mention)`` alone, so the same mention always comes out the same way, whatever else
is evaluated beside it and in whatever order.

Example: ``Typist(seed=0).type("colecistitis aguda litiásica")`` might give
``"colecistitis aguda litiasca"``.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Words of at least this many letters can get a slip.
MIN_LONG_WORD = 6
#: The slips a typist makes, each equally likely.
EDIT_KINDS = ("delete", "swap", "double")

_WORD_RE = re.compile(r"[^\W\d_]+")


def drop_accents(text: str) -> str:
    """Remove accents, tildes and diaereses, keeping case and everything else.

    Example: ``drop_accents("Fémur, niño") == "Femur, nino"``
    """
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def apply_edit(word: str, kind: str, position: int) -> str:
    """One slip in ``word`` at ``position`` (0-based).

    ``delete`` drops the letter at ``position``; ``swap`` exchanges it with the next one
    (``position`` < ``len(word) - 1``); ``double`` writes it twice.

    Example: ``apply_edit("fractura", "swap", 2) == "frcatura"``
    """
    if kind == "delete":
        return word[:position] + word[position + 1 :]
    if kind == "swap":
        if not 0 <= position < len(word) - 1:
            raise ValueError(f"swap at {position} needs a following letter in {word!r}")
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if kind == "double":
        return word[: position + 1] + word[position] + word[position + 1 :]
    raise ValueError(f"unknown edit kind {kind!r}; expected one of {EDIT_KINDS}")


@dataclass(frozen=True)
class Typist:
    """The seeded typist (see the module docstring).

    Example: ``Typist(seed=13).type_all(["hipotiroidismo", "IAM"])``
    """

    seed: int = 13
    accent_p: float = 0.5
    edit_p: float = 0.5

    def _rng(self, text: str) -> random.Random:
        return random.Random(f"{self.seed}\t{text}")

    def type(self, text: str) -> str:
        """The mention as the typist types it."""
        rng = self._rng(text)
        drop = rng.random() < self.accent_p
        edit = rng.random() < self.edit_p
        out = drop_accents(text) if drop else text
        if not edit:
            return out
        long_words = [m for m in _WORD_RE.finditer(out) if len(m.group()) >= MIN_LONG_WORD]
        if not long_words:
            return out
        match = rng.choice(long_words)
        word = match.group()
        kind = rng.choice(EDIT_KINDS)
        if kind == "swap":
            # Swapping two equal letters changes nothing: pick among distinct neighbours.
            places = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
            position = rng.choice(places) if places else 0
        else:
            position = rng.randrange(len(word))
        return out[: match.start()] + apply_edit(word, kind, position) + out[match.end() :]

    def type_all(self, texts: Sequence[str]) -> list[str]:
        """:meth:`type` over a sequence, in order."""
        return [self.type(t) for t in texts]
