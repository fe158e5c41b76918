"""The lexicon comes from the catalog; the spotter finds its phrases in a note."""

from __future__ import annotations

import pytest

from app.catalog.store import CatalogStore
from app.document.lexicon import (
    Counts,
    Lexicon,
    SpotterStats,
    StatsFileError,
    default_stats_path,
    is_content,
    title_forms,
)
from app.document.spotter import Spotter, SpotterConfig, fold_plural
from app.search.abbreviations import AbbreviationTable

PLAIN = SpotterConfig(min_precision=0.0, min_exact=0.0, extend=False)


def _spans(spotter: Spotter, text: str) -> list[str]:
    return [text[s.start : s.end] for s in spotter.spans(text)]


@pytest.fixture(scope="module")
def lexicon(store: CatalogStore) -> Lexicon:
    return Lexicon.from_store(store)


def test_title_forms_drop_qualifiers_and_residual_titles() -> None:
    assert title_forms("Neumonía, no especificada") == ["neumonia no especificada", "neumonia"]
    assert "tumores neoplasias in situ" in title_forms("Tumores [neoplasias] in situ")
    assert "tumores in situ" in title_forms("Tumores [neoplasias] in situ")
    assert title_forms("Otros trastornos del hueso") == []


def test_content_words() -> None:
    assert is_content("hta") and is_content("dolor de cabeza")
    assert not is_content("de la") and not is_content("12 3")


def test_lexicon_holds_aliases_and_spanish_titles(store: CatalogStore, lexicon: Lexicon) -> None:
    assert lexicon.entries[("hipertension", "arterial")] == "alias"
    titles_only = Lexicon.from_store(store, aliases=False)
    assert ("linfangioma",) in titles_only  # D18.1 "Linfangioma, de cualquier sitio"
    assert ("dolor", "abdominal") not in titles_only or titles_only.entries[
        ("dolor", "abdominal")] == "title"
    assert not any(len(words) > 10 for words in lexicon.entries)
    assert len(Lexicon.from_store(store, aliases=False, titles=False)) == 0


def test_spotter_finds_the_case_mentions(lexicon: Lexicon, case_note: str) -> None:
    spotter = Spotter(lexicon, None, PLAIN, AbbreviationTable.default())
    found = _spans(spotter, case_note)
    for mention in ("hipertensión arterial", "diabetes mellitus tipo 2", "dolor abdominal",
                    "fiebre", "disnea", "neumonía", "infección", "linfangioma", "HTA"):
        assert mention in found
    assert "Varón" not in found and "años" not in found


def test_longest_match_wins_and_mentions_do_not_overlap(lexicon: Lexicon) -> None:
    spotter = Spotter(lexicon, None, PLAIN)
    text = "Dolor abdominal intenso con fiebre."
    spans = spotter.spans(text)
    assert _spans(spotter, text)[0] == "Dolor abdominal"
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_abbreviations_need_the_table_and_its_case_rules(lexicon: Lexicon) -> None:
    without = Spotter(Lexicon({("hipertension", "arterial"): "alias"}, {"hipertension": 2}),
                      None, PLAIN)
    assert _spans(without, "Antecedente de HTA.") == []
    table = AbbreviationTable.default()
    spotter = Spotter(without.lexicon, None, PLAIN, table)
    assert _spans(spotter, "Antecedente de HTA.") == ["HTA"]


def test_statistics_drop_phrases_that_are_seldom_mentions(lexicon: Lexicon) -> None:
    # "Consulta" is a Spanish title (Z codes) but almost never a mention in CodiEsp train
    text = "Consulta por fiebre."
    assert _spans(Spotter(lexicon, None, PLAIN), text) == ["Consulta", "fiebre"]
    bundled = SpotterStats.read(default_stats_path())
    assert _spans(Spotter(lexicon, bundled, SpotterConfig()), text) == ["fiebre"]
    rare = SpotterStats(phrases={"fiebre": Counts(seen=50, exact=0, covered=1)})
    text = "Acude por fiebre."
    assert _spans(Spotter(lexicon, rare, SpotterConfig(extend=False)), text) == []
    few = SpotterStats(phrases={"fiebre": Counts(seen=2, exact=0, covered=0)})
    assert _spans(Spotter(lexicon, few, SpotterConfig(extend=False)), text) == ["fiebre"]


def test_extension_over_words_that_continue_mentions() -> None:
    lex = Lexicon()
    lex.add("dolor", "alias")
    stats = SpotterStats(
        phrases={"dolor": Counts(seen=100, exact=20, covered=90)},
        following={"fosa": Counts(10, 0, 9), "renal": Counts(10, 5, 9),
                   "derecha": Counts(10, 8, 8)},
    )
    text = "Dolor en fosa renal derecha y fiebre"
    assert _spans(Spotter(lex, stats, SpotterConfig()), text) == ["Dolor en fosa renal derecha"]
    assert _spans(Spotter(lex, stats, SpotterConfig(extend=False)), text) == ["Dolor"]
    # a phrase that is usually a mention by itself is not extended
    exact = SpotterStats(phrases={"dolor": Counts(100, 80, 90)}, following=stats.following)
    assert _spans(Spotter(lex, exact, SpotterConfig()), text) == ["Dolor"]
    # one that is seldom a mention by itself and cannot be extended is dropped
    alone = "Dolor y fiebre"
    assert _spans(Spotter(lex, SpotterStats(phrases={"dolor": Counts(100, 2, 90)}),
                          SpotterConfig()), alone) == []


def test_triggers_start_mentions_at_head_words() -> None:
    stats = SpotterStats(words={"sindrome": Counts(seen=20, exact=18, covered=20)},
                         following={"nefrotico": Counts(5, 5, 5)})
    text = "Síndrome nefrótico."
    assert _spans(Spotter(Lexicon(), stats, SpotterConfig()), text) == []
    assert _spans(Spotter(Lexicon(), stats, SpotterConfig(triggers=True)), text) == [
        "Síndrome nefrótico"
    ]


def test_plural_folding() -> None:
    assert fold_plural("adenopatias") == "adenopatia"
    assert fold_plural("renales") == "renal"
    assert fold_plural("quistes") == "quiste"
    assert fold_plural("virus") == "virus"
    lex = Lexicon()
    lex.add("quiste renal", "alias")
    text = "Quistes renales bilaterales."
    assert _spans(Spotter(lex, None, PLAIN), text) == []
    assert _spans(Spotter(lex, None, SpotterConfig(fold_plurals=True)), text) == [
        "Quistes renales"
    ]


def test_bundled_statistics_parse(tmp_path) -> None:
    stats = SpotterStats.read(default_stats_path())
    assert stats.phrases and stats.words and stats.following
    assert all(c.exact <= c.seen and c.covered <= c.seen for c in stats.phrases.values())
    copy = tmp_path / "stats.tsv"
    stats.write(copy)
    assert copy.read_bytes() == default_stats_path().read_bytes()


@pytest.mark.parametrize(
    "content",
    ["", "kind\tnorm\n", "kind\tnorm\tseen\texact\tcovered\nphrase\tfiebre\t1\tx\t1\n",
     "kind\tnorm\tseen\texact\tcovered\nother\tfiebre\t1\t1\t1\n"],
)
def test_bad_statistics_file_is_reported(tmp_path, content: str) -> None:
    path = tmp_path / "stats.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StatsFileError):
        SpotterStats.read(path)


def test_train_rate_reads_phrase_then_word_statistics(lexicon: Lexicon) -> None:
    stats = SpotterStats(phrases={"dolor toracico": Counts(10, 5, 8), "fiebre": Counts(2, 0, 0)},
                         words={"dolor": Counts(40, 4, 10), "fiebre": Counts(50, 0, 40)})
    spotter = Spotter(lexicon, stats, SpotterConfig())
    assert spotter.train_rate("dolor toracico") == 0.8
    assert spotter.train_rate("dolor") == 0.25  # a single word: its word statistics
    assert spotter.train_rate("fiebre") is None  # its phrase was seen too seldom to judge
    assert spotter.train_rate("dolor agudo") is None  # several words, no phrase statistics
