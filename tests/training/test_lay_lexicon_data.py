"""The opt-in ``lay_lexicon`` generator: the search's lay lexicon as training pairs."""

from __future__ import annotations

import random

import pytest

from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.lay_terms import LayLexicon
from training.data.catalog_view import CatalogView
from training.data.synthetic import GeneratorContext, available_generators, make_generator


@pytest.fixture(scope="module")
def examples(store: CatalogStore) -> list:
    view = CatalogView.load(store)
    generator = make_generator("lay_lexicon", GeneratorContext(view, AbbreviationTable.default()))
    return list(generator.generate(view.codes(), random.Random(0)))


def test_lay_terms_name_the_codes_whose_title_is_their_reading(examples: list) -> None:
    pairs = {(e.query, e.code) for e in examples}
    assert {("culebrilla", "B02"), ("fiebre de Malta", "A23"), ("sabañones", "T69.1")} <= pairs
    assert all(e.lang == "es" and e.source == "synthetic" for e in examples)
    assert {e.style for e in examples} == {"lay_term"}
    lay = {entry.term for entry in LayLexicon.default()}
    assert {e.query for e in examples} <= lay
    assert len(examples) >= 200


def test_the_generator_is_registered_but_opt_in() -> None:
    import dataclasses

    from training.data.build import BuildConfig

    assert "lay_lexicon" in available_generators()
    (field,) = [f for f in dataclasses.fields(BuildConfig) if f.name == "generators"]
    assert "lay_lexicon" not in field.default
