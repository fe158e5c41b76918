"""The JSON record of an analysed note (``cielo code-documents``) and the accept rule."""

from __future__ import annotations

import json

from app.document.records import auto_accepted, document_record


def test_record_schema_offsets_and_accept_rule(analyzer, case_note: str) -> None:
    analysis = analyzer.analyse(case_note, top_k=3)
    record = document_record("nota.txt", analysis)
    json.dumps(record, ensure_ascii=False)  # JSON-ready
    assert record["document"] == "nota.txt" and record["truncated"] is False
    assert len(record["mentions"]) == len(analysis.mentions)
    for m, coded in zip(record["mentions"], analysis.mentions, strict=True):
        assert case_note[m["start"]:m["end"]] == m["text"]
        assert m["accepted"] == auto_accepted(case_note, coded)
        assert [c["code"] for c in m["candidates"]] == [r.code for r in coded.results]
        assert not m["abstained"]
    negated = [m for m in record["mentions"] if m["negated"]]
    assert negated and all(not m["accepted"] and m["cue"] for m in negated)


def test_min_confidence_abstains(analyzer, case_note: str) -> None:
    analysis = analyzer.analyse(case_note, top_k=3)
    record = document_record("n", analysis, min_confidence=1.0)
    assert any(coded.results for coded in analysis.mentions)
    for m, coded in zip(record["mentions"], analysis.mentions, strict=True):
        # nothing reaches 1.0 (and a result without a confidence never passes a floor)
        assert m["candidates"] == [] and not m["accepted"]
        assert m["abstained"] is bool(coded.results)


def test_a_long_note_is_capped_and_says_so(analyzer) -> None:
    from app.document.analyse import DocumentAnalyzer

    capped = DocumentAnalyzer(analyzer.pipeline, max_chars=40)
    note = "Paciente con neumonía. " * 10
    record = document_record("larga.txt", capped.analyse(note, top_k=1))
    assert record["truncated"] is True
    assert all(m["end"] <= 40 for m in record["mentions"])


def test_an_unproposed_mention_is_shown_but_not_accepted(analyzer, case_note: str) -> None:
    from dataclasses import replace

    from app.document.types import DocumentAnalysis

    analysis = analyzer.analyse(case_note)
    accepted = [c for c in analysis.mentions if auto_accepted(case_note, c)]
    assert accepted
    held = replace(analysis, mentions=tuple(replace(c, proposed=False) for c in accepted))
    record = document_record("nota.txt", held)
    assert len(record["mentions"]) == len(accepted)
    assert not any(m["accepted"] for m in record["mentions"])
    assert isinstance(held, DocumentAnalysis)
