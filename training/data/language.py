"""Language identification of queries with ``py3langid``, restricted to the languages in play.

Short clinical fragments ("IAM", "gripe", "Cólera") cannot be identified reliably, so only
texts with at least ``min_chars`` letters and ``min_words`` words are checked, and a text is
flagged only when the classifier is confident (``min_confidence``, normalised probability)
that it is in another language than its label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Languages the classifier may answer: the labels in play plus close neighbours of
#: Spanish that a mislabelled text could be in.
LANGUAGES = ("es", "ca", "en", "fr", "pt", "it", "de")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class LanguageGuess:
    """The classifier's language and normalised probability for one text."""

    lang: str
    probability: float


class LanguageIdentifier:
    """A py3langid classifier limited to :data:`LANGUAGES`.

    Example: ``LanguageIdentifier().mismatch("Fracture du col du fémur", "es") == "fr"``
    """

    def __init__(
        self,
        languages: Sequence[str] = LANGUAGES,
        *,
        min_chars: int = 20,
        min_words: int = 3,
        min_confidence: float = 0.9,
    ) -> None:
        """Load the model (about 0.3 s).

        Raises:
            ImportError: py3langid is not installed (``pip install py3langid``).
        """
        try:
            from py3langid.langid import MODEL_FILE
            from py3langid.langid import LanguageIdentifier as _Model
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "language checks need py3langid: pip install py3langid (the train extra)"
            ) from exc
        self._model: Any = _Model.from_model_file(MODEL_FILE, norm_probs=True)
        self._model.set_languages(list(languages))
        self.languages = tuple(languages)
        self.min_chars = min_chars
        self.min_words = min_words
        self.min_confidence = min_confidence

    def identifiable(self, text: str) -> bool:
        """True when ``text`` is long enough to identify.

        Example: ``LanguageIdentifier().identifiable("IAM") is False``
        """
        return len(_LETTER.findall(text)) >= self.min_chars and len(text.split()) >= self.min_words

    def guess(self, text: str) -> LanguageGuess:
        """The most likely language of ``text`` (whatever its length)."""
        lang, probability = self._model.classify(text)
        return LanguageGuess(str(lang), float(probability))

    def mismatch(self, text: str, label: str) -> str | None:
        """The language ``text`` is confidently in when that is not ``label``; None when it
        matches, is too short, or the classifier is unsure.

        Example: ``LanguageIdentifier().mismatch("Fractura del cuello de fémur", "es") is None``
        """
        if label not in self.languages or not self.identifiable(text):
            return None
        guess = self.guess(text)
        if guess.lang != label and guess.probability >= self.min_confidence:
            return guess.lang
        return None
