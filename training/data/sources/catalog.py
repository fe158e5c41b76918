"""Pairs read straight from the catalog: titles, inclusion terms, parent/child paraphrases.

Spanish titles are used only where they are the code's own (``who``: an agreeing WHO
title; ``edition``: an imported official edition), never an inherited ancestor title.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from app.catalog.spanish import SOURCE_EDITION, SOURCE_OWN
from app.catalog.store import CodeRecord
from training.data.catalog_view import CatalogView
from training.data.examples import Example

SOURCE = "catalog"

#: Coding instructions filed among inclusion terms ("... should be coded to complete").
_INSTRUCTION = re.compile(r"\b(?:should be coded|code to|code also|use additional)\b", re.I)
#: A trailing exclusion clause: ", not classifiable to C16.1-C16.4".
_NOT_CLASSIFIABLE = re.compile(r",?\s*not\s+classifiable\s+(?:to|under)\b.*$", re.I)
#: A term defined by reference ("Newborn affected by conditions classifiable to O64-O66").
_CLASSIFIABLE = re.compile(r"\bclassifiable\s+(?:to|under)\b", re.I)


def catalog_examples(view: CatalogView, records: Iterable[CodeRecord]) -> Iterator[Example]:
    """English title, own Spanish title, inclusion terms and the parent paraphrase of each
    record.

    Example: ``next(catalog_examples(view, [view.records["I10"]])).query``
    """
    for record in records:
        yield Example(record.title_en, record.code, "en", SOURCE, "title")
        if record.title_es and record.title_es_source in (SOURCE_OWN, SOURCE_EDITION):
            yield Example(record.title_es, record.code, "es", SOURCE, "title")
        for note in view.inclusions.get(record.code, ()):
            term = clean_inclusion(note)
            if term:
                yield Example(term, record.code, "en", SOURCE, "inclusion_term")
        parent = view.parent(record)
        if parent is not None and parent.kind != "block":
            paraphrase = parent_paraphrase(parent.title_en, record.title_en)
            if paraphrase:
                yield Example(paraphrase, record.code, "en", SOURCE, "parent_paraphrase")


def parent_paraphrase(parent: str, child: str) -> str | None:
    """The child title as "<parent title>, <what the child inserts>", when the child is the
    parent with one contiguous run of words inserted before its last word.

    Example: ``parent_paraphrase("Fracture of neck of femur", "Fracture of neck of right
    femur") == "Fracture of neck of femur, right"``
    """
    p_words, c_words = parent.split(), child.split()
    if len(c_words) <= len(p_words):
        return None
    p_key = [w.casefold() for w in p_words]
    c_key = [w.casefold() for w in c_words]
    prefix = 0
    while prefix < len(p_key) and p_key[prefix] == c_key[prefix]:
        prefix += 1
    suffix = 0
    while suffix < len(p_key) - prefix and p_key[-1 - suffix] == c_key[-1 - suffix]:
        suffix += 1
    if prefix + suffix != len(p_key) or suffix == 0:
        return None
    inserted = " ".join(c_words[prefix : len(c_words) - suffix]).strip(" ,;")
    if not inserted or any(ch in inserted for ch in "()[]"):
        return None
    if prefix == 0:
        inserted = inserted[0].lower() + inserted[1:]
        parent = parent[0].upper() + parent[1:]
    return f"{parent.rstrip(' ,')}, {inserted}"


def clean_inclusion(text: str) -> str | None:
    """An inclusion term as a query: a trailing "not classifiable to <codes>" clause
    removed; None for coding instructions and for terms defined by reference to other
    codes ("Newborn affected by conditions classifiable to O64-O66").

    Example: ``clean_inclusion("Malignant neoplasm of lesser curvature of stomach, not
    classifiable to C16.1-C16.4") == "Malignant neoplasm of lesser curvature of stomach"``
    """
    if _INSTRUCTION.search(text):
        return None
    cleaned = _NOT_CLASSIFIABLE.sub("", text).strip(" ,;")
    if not cleaned or _CLASSIFIABLE.search(cleaned):
        return None
    return cleaned
