"""One analysed note as a JSON-ready record, and the rule that pre-accepts a mention.

Shared by the desktop app (which rows start accepted) and ``cielo code-documents`` (its
output schema, stable: hospital scripts depend on it). The note is patient data: nothing
here logs it.
"""

from __future__ import annotations

from typing import Any

from app.document.spans import is_word_span
from app.document.types import CodedMention, DocumentAnalysis
from app.search.types import SearchResult


def auto_accepted(note: str, coded: CodedMention) -> bool:
    """Whether a mention starts accepted: proposed (``CodedMention.proposed``), not negated,
    a real word sequence of the note (:func:`app.document.spans.is_word_span`), and a best
    code that is valid for submission and not of low confidence ("baja"; a result without a
    confidence is not judged by it).
    """
    best = coded.results[0] if coded.results else None
    return (
        best is not None
        and coded.proposed
        and best.valid
        and best.confidence_level != "baja"
        and not coded.mention.negated
        and is_word_span(note, coded.mention)
    )


def candidate_record(result: SearchResult) -> dict[str, Any]:
    """A proposed code: ``code``, ``title_es``, ``title_en``, ``valid``, ``confidence``
    (rounded to 4 places, None without a calibration) and ``confidence_level``."""
    return {
        "code": result.code,
        "title_es": result.title_es,
        "title_en": result.title_en,
        "valid": result.valid,
        "confidence": None if result.confidence is None else round(result.confidence, 4),
        "confidence_level": result.confidence_level,
    }


def document_record(
    name: str, analysis: DocumentAnalysis, min_confidence: float | None = None
) -> dict[str, Any]:
    """The record of one note (``cielo code-documents`` writes one per line).

    ``{"document": name, "truncated": bool, "mentions": [{"start", "end", "text",
    "negated", "cue", "uncertain", "uncertainty_cue", "accepted", "abstained",
    "candidates": [...]}]}``: mentions in text order, offsets into the decoded note
    (``note[start:end] == text``). With ``min_confidence`` only candidates whose calibrated
    confidence reaches it are kept; a mention left with none is ``abstained`` and not
    ``accepted``. ``accepted`` is the desktop app's starting decision
    (:func:`auto_accepted`).

    Example: ``document_record("nota.txt", analysis)["mentions"][0]["candidates"][0]["code"]``
    """
    mentions = []
    for coded in analysis.mentions:
        m = coded.mention
        kept = list(coded.results)
        if min_confidence is not None:
            kept = [r for r in kept if (r.confidence or 0.0) >= min_confidence]
        abstained = bool(coded.results) and not kept
        mentions.append({
            "start": m.start,
            "end": m.end,
            "text": m.text,
            "negated": m.negated,
            "cue": m.cue,
            "uncertain": m.uncertain,
            "uncertainty_cue": m.uncertainty_cue,
            "accepted": auto_accepted(analysis.text, coded) and not abstained,
            "abstained": abstained,
            "candidates": [candidate_record(r) for r in kept],
        })
    return {"document": name, "truncated": analysis.truncated, "mentions": mentions}
