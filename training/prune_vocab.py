"""Vocabulary pruning: keep the SentencePiece pieces that Cielo's languages and catalog use.

The 250k-piece XLM-R vocabulary is ~80% of multilingual-e5-small's weights. Cielo reads
Spanish, Catalan, English, French, Italian and Portuguese clinical text, so the pieces that
matter are those the catalog, the clinical corpora and the common words of those languages
tokenize into, plus every Latin-script single character so that any word can still be spelled.

    python -m training.prune_vocab --base build/base --out build/pruned [--codiesp DIR]

Pruning never changes how a kept text is tokenized: Unigram picks the best segmentation over
the pieces it has, and every piece of that segmentation is kept. Dev mentions are *not* part of
the corpus, so ``prune_report.json`` measures the effect on unseen text honestly.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from app.catalog.store import CatalogStore

log = logging.getLogger(__name__)

#: Languages whose common words are kept (ISO 639-1, as wordfreq names them).
LANGUAGES = ("es", "ca", "en", "fr", "it", "pt")
WORDS_PER_LANGUAGE = 50_000
SPECIAL_PIECES = 4  # <s> <pad> </s> <unk> lead the vocabulary
PREFIXES = ("query: ", "passage: ")


def is_latin_char(piece: str) -> bool:
    """A single character (optionally with the word-start mark) from Latin/general scripts."""
    body = piece.removeprefix("\u2581")
    return len(body) <= 1 and all(ord(c) < 0x250 or 0x2000 <= ord(c) < 0x2070 for c in body)


def catalog_texts(store: CatalogStore) -> Iterator[str]:
    """Every title and note text of the catalog."""
    for title_en, title_es in store.query("SELECT title_en, title_es FROM codes"):
        yield title_en
        if title_es:
            yield title_es
    for (text,) in store.query("SELECT text FROM notes"):
        yield text


def codiesp_texts(root: Path, splits: Sequence[str] = ("train", "background")) -> Iterator[str]:
    """CodiEsp clinical cases (Spanish and their English translations) from ``splits``."""
    folders = {
        "train": ["train/text_files", "train/text_files_en"],
        "background": ["background_text_files"],
    }
    for split in splits:
        for folder in folders[split]:
            for path in sorted((root / folder).glob("*.txt")):
                yield path.read_text(encoding="utf-8", errors="replace")


def common_words(languages: Sequence[str] = LANGUAGES, n: int = WORDS_PER_LANGUAGE) -> list[str]:
    from wordfreq import top_n_list

    return [word for lang in languages for word in top_n_list(lang, n)]


def used_piece_ids(tokenizer, texts: Iterable[str], batch: int = 2048) -> set[int]:
    """Ids of every piece the tokenizer emits for ``texts`` (with both e5 prefixes)."""
    used: set[int] = set()
    chunk: list[str] = []

    def flush() -> None:
        for encoding in tokenizer.encode_batch(chunk, add_special_tokens=False):
            used.update(encoding.ids)
        chunk.clear()

    for text in texts:
        chunk.append(text)
        if len(chunk) >= batch:
            flush()
    chunk.extend(PREFIXES)
    flush()
    return used


def keep_ids(vocab: Sequence[tuple[str, float]], used: set[int]) -> list[int]:
    """Sorted ids to keep: specials, used pieces, Latin single characters, and ``<mask>``."""
    keep = set(range(SPECIAL_PIECES)) | used
    keep.update(i for i, (piece, _) in enumerate(vocab) if is_latin_char(piece))
    keep.add(len(vocab) - 1)  # <mask>, kept so the tokenizer's added tokens stay valid
    return sorted(keep)


def pruned_tokenizer_json(tokenizer_json: dict, kept: Sequence[int]) -> dict:
    """The same tokenizer over the kept pieces, ids renumbered in their original order."""
    vocab = tokenizer_json["model"]["vocab"]
    new_id = {old: new for new, old in enumerate(kept)}
    pruned = json.loads(json.dumps(tokenizer_json))
    pruned["model"]["vocab"] = [vocab[i] for i in kept]
    pruned["model"]["unk_id"] = new_id[tokenizer_json["model"]["unk_id"]]
    for token in pruned["added_tokens"]:
        token["id"] = new_id[token["id"]]
    for special in pruned["post_processor"]["special_tokens"].values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return pruned


def prune_model(model, kept: Sequence[int]):
    """Slice the word-embedding matrix of a BertModel down to ``kept`` rows, in place."""
    import torch

    old = model.get_input_embeddings().weight.data
    new = torch.nn.Embedding(len(kept), old.shape[1], padding_idx=model.config.pad_token_id)
    new.weight.data = old[torch.tensor(list(kept))].clone()
    model.set_input_embeddings(new)
    model.config.vocab_size = len(kept)
    return model


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def prune(
    base: Path,
    out: Path,
    store: CatalogStore,
    codiesp_root: Path | None,
    dev_mentions: Sequence[str],
) -> dict:
    """Write the pruned checkpoint and tokenizer to ``out``; return the pruning report."""
    from tokenizers import Tokenizer
    from transformers import BertModel

    tokenizer_json = json.loads((base / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    corpora: dict[str, Iterable[str]] = {
        "catalog": catalog_texts(store),
        "common_words": common_words(),
    }
    if codiesp_root is not None and codiesp_root.is_dir():
        corpora["codiesp_cases"] = codiesp_texts(codiesp_root)
    else:
        log.warning("CodiEsp case texts not found: pruning from the catalog and word lists only")
    used: set[int] = set()
    corpus_pieces = {}
    for name, texts in corpora.items():
        ids = used_piece_ids(tokenizer, texts)
        corpus_pieces[name] = len(ids)
        used |= ids
        log.info("%s: %d pieces", name, len(ids))
    vocab = tokenizer_json["model"]["vocab"]
    kept = keep_ids(vocab, used)
    pruned_json = pruned_tokenizer_json(tokenizer_json, kept)
    pruned_tok = Tokenizer.from_str(json.dumps(pruned_json))

    model = BertModel.from_pretrained(base, add_pooling_layer=False)
    params_before = parameter_count(model)
    prune_model(model, kept)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(pruned_json, ensure_ascii=False))
    np.save(out / "kept_ids.npy", np.asarray(kept, dtype=np.int32))

    full_pieces = [tokenizer.encode(f"query: {m}").tokens for m in dev_mentions]
    pruned_pieces = [pruned_tok.encode(f"query: {m}").tokens for m in dev_mentions]
    changed = sum(a != b for a, b in zip(full_pieces, pruned_pieces, strict=True))
    report = {
        "vocab_before": len(vocab),
        "vocab_after": len(kept),
        "parameters_before": params_before,
        "parameters_after": parameter_count(model),
        "corpus_pieces": corpus_pieces,
        "languages": list(LANGUAGES),
        "words_per_language": WORDS_PER_LANGUAGE,
        "dev_mentions": len(dev_mentions),
        "dev_mentions_tokenized_differently": changed,
    }
    (out / "prune_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    from app.catalog.aliases import read_codiesp_mentions
    from app.catalog.default import codiesp_file
    from app.catalog.open import open_catalog

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, default=Path("build/base"))
    parser.add_argument("--out", type=Path, default=Path("build/pruned"))
    parser.add_argument(
        "--codiesp",
        type=Path,
        default=Path("../shared/data/codiesp"),
        help="CodiEsp corpus root (train and background case texts)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    store = open_catalog()
    dev = [m.text for m in read_codiesp_mentions(codiesp_file("dev"))]
    report = prune(args.base, args.out, store, args.codiesp, dev)
    log.info(
        "vocabulary %d -> %d pieces, parameters %d -> %d; %d/%d dev mentions re-tokenized",
        report["vocab_before"],
        report["vocab_after"],
        report["parameters_before"],
        report["parameters_after"],
        report["dev_mentions_tokenized_differently"],
        report["dev_mentions"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
