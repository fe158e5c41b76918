"""Curation: rules, exact and semantic de-duplication, language check, per-code cap."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from training.data.curate import (
    CurationConfig,
    CurationReport,
    cap_per_code,
    curate,
    dedup_key,
    dedupe_semantic,
    rule_violation,
)
from training.data.examples import Example
from training.data.language import LanguageIdentifier

KNOWN = {"I10", "I21.9", "J01.9", "J01.90", "S72.0", "S72.001A", "R52"}
CONFIG = CurationConfig(min_chars=2, max_chars=40)


def ex(query: str, code: str = "I10", source: str = "catalog", lang: str = "es",
       style: str = "title") -> Example:  # fmt: skip
    return Example(query, code, lang, source, style)


@pytest.mark.parametrize(
    ("query", "code", "reason"),
    [
        ("   ", "I10", "empty"),
        ("?!", "I10", "empty"),
        ("x", "I10", "too_short"),
        ("hipertensión " * 5, "I10", "too_long"),
        ("i10", "I10", "query_is_code"),
        ("fractura S72.0 de cadera", "S72.0", "code_in_query"),
        ("fractura s7200", "S72.0", "code_in_query"),
        ("antecedentes de C50.-", "I10", "code_in_query"),
        ("hipertensión", "Z99.99", "unknown_code"),
    ],
)
def test_each_rule_drops_what_it_should(query: str, code: str, reason: str) -> None:
    assert rule_violation(ex(query, code), KNOWN, CONFIG) == reason


@pytest.mark.parametrize("query", ["HTA", "déficit de vitamina B12", "gripe H1N1", "COVID-19"])
def test_rules_keep_ordinary_queries(query: str) -> None:
    assert rule_violation(ex(query), KNOWN, CONFIG) is None


def test_dedup_key_folds_case_and_punctuation_not_accents() -> None:
    assert dedup_key(" Fractura  del FÉMUR.") == "fractura del fémur"
    assert dedup_key("fractura del femur") != dedup_key("fractura del fémur")


def test_exact_dedup_and_conflicts() -> None:
    candidates = [
        ex("dolor", "R52", source="synthetic"),  # loses to the real mention below
        ex("Dolor.", "R52", source="codiesp-train"),
        ex("dolor", "R52", source="codiesp-train"),  # exact duplicate
        ex("dolor", "I10", source="codiesp-train"),  # same authority: real ambiguity, kept
        ex("tensión alta", "I10", source="synthetic"),
        ex("tensión alta", "I21.9", source="synthetic"),  # synthetic-only conflict: both go
        ex("hipertensión", "I10", source="catalog"),
        ex("hipertensión", "S72.0", source="gnuhealth"),  # lower authority, other code
        ex("Fahrer bei Zusammenstoß", "I10", source="gnuhealth", lang="de"),
        ex("Fahrer bei Zusammenstoß", "R52", source="gnuhealth", lang="de"),  # WHO fragment
        ex("Acute sinusitis, unspecified", "J01.9", lang="en"),
        ex("Acute sinusitis, unspecified", "J01.90", lang="en"),  # codable child kept
    ]
    kept, report = curate(candidates, KNOWN, CONFIG)
    assert {(e.query, e.code) for e in kept} == {
        ("Dolor.", "R52"),
        ("dolor", "I10"),
        ("hipertensión", "I10"),
        ("Acute sinusitis, unspecified", "J01.90"),
    }
    assert report.dropped["duplicate"] == 2
    assert report.dropped["conflict_derived"] == 4
    assert report.dropped["conflict_lower_authority"] == 1
    assert report.dropped["conflict_ancestor"] == 1
    assert report.conflicts == 1 and report.conflict_samples == [("Dolor.", ["I10", "R52"])]
    assert kept[0].source == "codiesp-train"  # authority order


def _toy_embed(texts: Sequence[str]) -> np.ndarray:
    """Character-trigram counts, L2-normalised: near-identical strings score near 1."""
    dim = 512
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        padded = f"  {text.lower()} "
        for i in range(len(padded) - 2):
            out[row, zlib.crc32(padded[i : i + 3].encode()) % dim] += 1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_semantic_dedup_collapses_near_duplicates_within_a_code() -> None:
    examples = [
        ex("fractura del cuello del fémur derecho", "S72.0", source="codiesp-train"),
        ex("fractura del cuello del fémur derecho.", "S72.0", source="synthetic"),
        ex("fractura del cuello del fémur  derecha", "S72.0", source="synthetic"),
        ex("hipertensión arterial esencial", "S72.0", source="synthetic"),  # different text
        ex("fractura del cuello del fémur derecho", "S72.001A", source="synthetic"),  # other code
        ex("fractura del cuelo del fémur derecho", "S72.0", "synthetic", style="typo_drop"),
    ]
    report = CurationReport()
    kept = dedupe_semantic(
        examples, _toy_embed, 0.9, report, exempt_styles=("typo_drop",), batch_size=2,
        block_rows=2,
    )  # fmt: skip
    assert [(e.query, e.code, e.source) for e in kept] == [
        ("fractura del cuello del fémur derecho", "S72.0", "codiesp-train"),
        ("hipertensión arterial esencial", "S72.0", "synthetic"),
        ("fractura del cuello del fémur derecho", "S72.001A", "synthetic"),
        ("fractura del cuelo del fémur derecho", "S72.0", "synthetic"),  # exempt style
    ]
    assert report.dropped["near_duplicate"] == 2
    assert report.semantic.startswith("cosine >= 0.9")


def test_semantic_dedup_blocks_do_not_change_the_result() -> None:
    rng = random.Random(0)
    words = ["fractura", "cuello", "fémur", "dolor", "tibia", "herida", "mano", "pie"]
    examples = [
        ex(" ".join(rng.choice(words) for _ in range(3)), rng.choice(sorted(KNOWN)))
        for _ in range(300)
    ]
    small = dedupe_semantic(examples, _toy_embed, 0.8, CurationReport(), block_rows=7)
    large = dedupe_semantic(examples, _toy_embed, 0.8, CurationReport(), block_rows=10_000)
    assert small == large and 0 < len(small) < len(examples)


def test_language_check_flags_a_french_title_labelled_spanish() -> None:
    identifier = LanguageIdentifier()
    examples = [
        ex("Fracture du col du fémur, sans précision", "S72.0"),  # French, labelled es
        ex("Fractura del cuello del fémur, no especificada", "S72.0"),
        ex("IAM", "I21.9"),  # too short to identify: kept
        ex("Fracture of neck of femur, unspecified", "S72.0", lang="en"),
    ]
    kept, report = curate(examples, KNOWN, CurationConfig(), identifier=identifier)
    assert [e.query for e in kept] == [e.query for e in examples[1:]]
    assert report.dropped["language_mismatch"] == 1
    assert report.language_mismatches == {"es->fr": 1}
    assert identifier.identifiable("IAM") is False


def test_cap_per_code_exempts_mentions_and_prefers_spanish_then_english() -> None:
    examples = [
        ex("m1", "I10", source="codiesp-train"),
        ex("m2", "I10", source="codiesp-train"),
        ex("Hypertension essentielle", "I10", source="gnuhealth", lang="fr"),
        ex("Essential hypertension", "I10", lang="en"),
        ex("hipertension esencial", "I10", source="synthetic", style="no_accents"),
        ex("Hipertensión esencial (primaria)", "I10"),
        ex("Hipertensión esencial", "I10", source="synthetic", style="qualified"),
    ]
    report = CurationReport()
    kept = cap_per_code(examples, 3, random.Random(0), report)
    assert [e.query for e in kept] == [
        "m1",
        "m2",
        "Essential hypertension",
        "Hipertensión esencial (primaria)",
        "Hipertensión esencial",
    ]
    assert report.dropped["max_per_code"] == 2
