"""The token-classification head's word vectors (from the bundled encoder, run as the app runs
it), its training and span reading on small real notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.document.segment import tokens
from app.paths import resources_dir
from app.search.encoder import TextEncoder
from training.codiesp_documents import Document, GoldMention
from training.token_head import WordVectors, cached_split, fit, head_marginals, spans_at

MODEL = resources_dir() / "model"


@pytest.fixture(scope="module")
def vectors() -> WordVectors:
    return WordVectors(MODEL)


def test_pooled_word_vectors_are_the_apps_query_vector(vectors: WordVectors):
    text = "fractura pertrocantérea de cadera derecha"
    toks = tokens(text)
    encoding = vectors.tokenizer.encode(text, add_special_tokens=False)
    window = [vectors.bos, *vectors.prefix, *encoding.ids, vectors.eos]
    hidden = vectors.session.run(["token_vectors"], {
        "input_ids": np.array([window]), "attention_mask": np.ones((1, len(window)), np.int64),
        "query": np.array(True)})[0][0]
    app = TextEncoder(MODEL).encode([text], "query")[0]
    pooled = hidden.mean(axis=0)[: len(app)]
    assert float(pooled @ app / np.linalg.norm(pooled)) > 0.9999
    # a word's vector is the mean of its sub-words' ("pertrocantérea" has several)
    words = vectors.sentence(text, toks)
    assert words.shape == (len(toks), hidden.shape[1])
    start = 1 + len(vectors.prefix)
    word = toks[1]
    pieces = [k for k, (s, e) in enumerate(encoding.offsets) if s < word.end and word.start < e]
    assert len(pieces) > 1
    assert np.allclose(words[1], hidden[[start + k for k in pieces]].mean(axis=0), atol=1e-5)


def note(number: int, finding: str) -> Document:
    text = f"Paciente {number} de 80 años con {finding}. No refiere fiebre. Alta a domicilio."
    start = text.index(finding)
    gold = GoldMention("S72.009A", ((start, start + len(finding)),))
    return Document(f"n{number}", text, (gold,))


def test_head_learns_mentions_and_caches_vectors(vectors: WordVectors, tmp_path: Path):
    findings = ["fractura de cadera", "neumonía bilateral", "insuficiencia cardiaca",
                "diabetes mellitus", "fractura de muñeca", "hipertensión arterial"]
    docs = [note(k, findings[k % len(findings)]) for k in range(18)]
    rows = cached_split(docs, vectors, tmp_path / "train.pkl")
    again = cached_split(docs, vectors, tmp_path / "train.pkl")  # read back from the cache
    assert np.array_equal(rows[0][0][0], again[0][0][0]) and rows[0][1] == again[0][1]
    assert rows[0][1][0][-3:] == ["B", "I", "I"]  # "fractura de cadera" tagged in sentence 1
    model = fit(rows)
    test = [note(99, "fractura de cadera")]
    test_rows = cached_split(test, vectors, tmp_path / "dev.pkl")
    spans = spans_at(head_marginals(model, test_rows), test_rows, 0.5)[0]
    gold = test[0].gold[0].fragments[0]
    assert any(s < gold[1] and gold[0] < e for s, e in spans)
    assert not any("fiebre" in test[0].text[s:e] or "domicilio" in test[0].text[s:e]
                   for s, e in spans)
