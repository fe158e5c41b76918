"""Synthetic Spanish queries on the real catalog: grounded, deterministic, and saying the
right side and episode."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence

import pytest

from app.catalog.store import CatalogStore, CodeRecord
from app.search.abbreviations import AbbreviationTable
from app.search.normalize import strip_accents
from training.data.catalog_view import CatalogView
from training.data.examples import Example
from training.data.qualifiers import render, seventh_spanish
from training.data.synthetic import (
    GeneratorContext,
    available_generators,
    make_generator,
    read_lay_terms,
    register_generator,
)
from training.data.variants import Abbreviator, drop_articles, invert

RIGHT = re.compile(r"\b(derech[oa]|dch[oa])\b")
LEFT = re.compile(r"\b(izquierd[oa]|izd[oa])\b")
EPISODE = {
    "A": re.compile(r"\binicial\b|\bprimer contacto\b"),
    "D": re.compile(r"\bsucesivo\b|\bposterior\b"),
    "S": re.compile(r"\bsecuelas?\b"),
}


@pytest.fixture(scope="module")
def view(store: CatalogStore) -> CatalogView:
    return CatalogView.load(store)


@pytest.fixture(scope="module")
def context(view: CatalogView) -> GeneratorContext:
    return GeneratorContext(view, AbbreviationTable.default(), variants_per_code=4)


@pytest.fixture(scope="module")
def sample(view: CatalogView) -> list[CodeRecord]:
    """Every S72.0 code plus 4,000 random codes."""
    codes = view.codes()
    picked = random.Random(5).sample(codes, 4000)
    return [r for r in codes if r.code.startswith("S72.0")] + picked


@pytest.fixture(scope="module")
def generated(context: GeneratorContext, sample: list[CodeRecord]) -> list[Example]:
    generator = make_generator("templates", context)
    return list(generator.generate(sample, random.Random(1)))


def test_rendering_of_an_inherited_title_with_side_and_episode(view: CatalogView) -> None:
    rendering = render(view, view.records["S72.001A"])
    assert rendering is not None and rendering.inherited
    assert rendering.text == (
        "Fractura del cuello de fémur derecho, contacto inicial por fractura cerrada"
    )
    assert render(view, view.records["S82.202S"]).text == (
        "Fractura de la diáfisis de la tibia izquierda, secuela"
    )
    own = render(view, view.records["S72.0"])
    assert own.text == "Fractura del cuello de fémur" and not own.inherited


def test_no_spanish_is_invented(view: CatalogView) -> None:
    # "Other fracture of head and neck of right femur": "other" is not in the glossary.
    assert render(view, view.records["S72.091A"]) is None
    # "Displaced fracture of base of neck of right femur": neither is "base".
    assert render(view, view.records["S72.041A"]) is None
    # No Spanish at all (CM-only chapter block without a WHO title).
    assert all(render(view, r) is None for r in view.codes() if r.title_es is None)


def test_seventh_character_glossary() -> None:
    assert seventh_spanish("initial encounter") == ("episode", "contacto inicial")
    assert seventh_spanish("subsequent encounter for closed fracture with malunion") == (
        "episode",
        "contacto sucesivo por fractura cerrada con consolidación viciosa",
    )
    assert seventh_spanish("sequela") == ("episode", "secuela")
    assert seventh_spanish("right eye") == ("side", "right")
    assert seventh_spanish("in the field [EMT or ambulance]") is None


def test_every_example_names_an_existing_code(generated: list[Example], view: CatalogView) -> None:
    assert len(generated) > 1000
    assert all(e.code in view.records and e.lang == "es" for e in generated)
    assert all(e.source == "synthetic" and e.query.strip() for e in generated)


def test_sides_follow_the_code(generated: list[Example], view: CatalogView) -> None:
    checked = 0
    for example in generated:
        rendering = render(view, view.records[example.code])
        if rendering.side not in ("right", "left"):
            continue
        english = view.records[example.code].title_en.lower()
        good, bad = (RIGHT, LEFT) if rendering.side == "right" else (LEFT, RIGHT)
        assert rendering.side in english, example
        assert good.search(example.query.lower()), example
        assert not bad.search(example.query.lower()), example
        checked += 1
    assert checked > 100


def test_episode_phrasing_matches_the_seventh_character(
    generated: list[Example], view: CatalogView
) -> None:
    checked = 0
    for example in generated:
        record = view.records[example.code]
        meaning = view.seventh.get(record.code, "")
        char = record.code[-1]
        if record.kind != "extended" or char not in EPISODE:
            continue
        if not meaning.startswith(("initial encounter", "subsequent encounter", "sequela")):
            continue
        query = strip_accents(example.query.lower())
        assert EPISODE[char].search(query), example
        for other, pattern in EPISODE.items():
            if other != char:
                assert not pattern.search(query), example
        checked += 1
    assert checked > 100


def test_no_accents_variant_differs_only_by_accents(
    generated: list[Example], view: CatalogView
) -> None:
    variants = [e for e in generated if e.style == "no_accents"]
    assert variants
    for example in variants:
        text = render(view, view.records[example.code]).text.lower()
        assert example.query != text
        assert example.query == strip_accents(text)


def test_typos_change_one_letter_of_the_title(generated: list[Example], view: CatalogView) -> None:
    for example in (e for e in generated if e.style in ("typo_swap", "typo_drop")):
        text = render(view, view.records[example.code]).text
        assert example.query != text
        assert sorted(example.query) == sorted(text) or len(example.query) == len(text) - 1


def test_generator_is_deterministic_per_seed(
    context: GeneratorContext, sample: list[CodeRecord], generated: list[Example]
) -> None:
    generator = make_generator("templates", context)
    assert list(generator.generate(sample, random.Random(1))) == generated
    assert list(generator.generate(sample, random.Random(2))) != generated


def test_lay_terms_name_valid_codes(context: GeneratorContext, view: CatalogView) -> None:
    terms = read_lay_terms()
    assert 40 <= len(terms) <= 80
    assert all(view.records[t.code].valid for t in terms)
    records = [view.records["I21.9"], view.records["I10"]]
    examples = list(make_generator("lay_terms", context).generate(records, random.Random(0)))
    assert ("ataque al corazón", "I21.9") in {(e.query, e.code) for e in examples}
    assert {e.code for e in examples} == {"I21.9", "I10"}


def test_registry_plugs_in_a_generator_by_name(context: GeneratorContext) -> None:
    @register_generator("echo-test")
    class Echo:
        name = "echo-test"

        def __init__(self, context: GeneratorContext) -> None:
            pass

        def generate(self, records: Sequence[CodeRecord], rng: random.Random) -> Iterator[Example]:
            for record in records:
                yield Example(record.title_en.lower(), record.code, "en", "synthetic", "echo")

    assert "echo-test" in available_generators()
    generator = make_generator("echo-test", context)
    assert next(generator.generate([context.view.records["I10"]], random.Random(0))).style == "echo"
    with pytest.raises(ValueError):
        register_generator("echo-test")(Echo)
    with pytest.raises(KeyError, match="templates"):
        make_generator("no-such-generator", context)


def test_text_variants() -> None:
    abbreviate = Abbreviator(AbbreviationTable.default())
    assert abbreviate("Infarto agudo de miocardio inferior") == "IAM inferior"
    assert abbreviate("Insuficiencia cardíaca congestiva") == "ICC"  # accents ignored
    assert abbreviate("Colitis") is None
    assert drop_articles("Fractura del cuello del fémur") == "Fractura cuello fémur"
    assert invert("Fractura del cuello del fémur") == "cuello de fémur, fractura"
    assert invert("Ocupante de automóvil lesionado: conductor") is None
