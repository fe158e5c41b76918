"""The translation tuning slice: a fixed fifth of train articles, kept out of the rest."""

from __future__ import annotations

from pathlib import Path

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import codiesp_file
from training.translation_slice import in_slice, write_rest


def test_the_slice_is_a_fixed_fifth_of_train_articles_and_the_rest_lacks_it(
    tmp_path: Path,
) -> None:
    mentions = list(read_codiesp_mentions(codiesp_file("train")))
    articles = {m.doc_id for m in mentions}
    sliced = {a for a in articles if in_slice(a)}
    assert 0.15 < len(sliced) / len(articles) < 0.25
    assert in_slice(sorted(sliced)[0]) and not in_slice(sorted(articles - sliced)[0])
    rest = tmp_path / "rest.tsv"
    rows = write_rest(codiesp_file("train"), rest)
    kept = list(read_codiesp_mentions(rest))
    assert rows == len(kept) == sum(not in_slice(m.doc_id) for m in mentions)
    assert {m.doc_id for m in kept} == articles - sliced
    # The protocol of tuning.md: 1,489 slice mentions.
    assert sum(in_slice(m.doc_id) for m in mentions) == 1489
