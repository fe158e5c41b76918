"""The learned ranker's candidate space, features and model on the real default catalog
(train aliases) with the bundled encoder, index and ranker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.abbreviations import AbbreviationTable
from app.search.bundle import load_ranker, open_pipeline
from app.search.candidates import CandidateGenerator, CandidateSpace, PoolEntry, fuse
from app.search.features import FEATURES, CodePrior, FeatureExtractor, cognate
from app.search.pipeline import PipelineConfig, SearchPipeline, first_stage_members
from app.search.query import analyze_query
from app.search.ranker import CONFIG_FILE, MODEL_FILE, LearnedRanker, RankerCalibration
from app.search.types import Candidate

TRAIN = ("codiesp-train",)


@pytest.fixture(scope="module")
def table() -> AbbreviationTable:
    return AbbreviationTable.default()


@pytest.fixture(scope="module")
def ranked(store: CatalogStore) -> SearchPipeline:
    pipeline, note = open_pipeline(store, PipelineConfig(alias_sources=TRAIN))
    assert note is None, note
    assert pipeline.ranker is not None
    return pipeline


def _features(store: CatalogStore, table, text: str, codes: list[str]) -> dict[str, dict]:
    """Feature values of ``codes`` as if the first stage had proposed them in this order."""
    query = analyze_query(text, table)
    fused = [Candidate(c, 1 / (61 + i), "bm25") for i, c in enumerate(codes)]
    records = store.get_many(codes)
    pool = [PoolEntry(records[c], c, "retrieved") for c in codes]
    space = CandidateSpace({"bm25": fused}, fused, pool)
    rows = FeatureExtractor(store, CodePrior.from_store(store, TRAIN)).matrix(query, space)
    return {c: dict(zip(FEATURES, row.tolist(), strict=True)) for c, row in zip(codes, rows,
                                                                                strict=True)}


def test_qualifier_features_see_acuity_and_complication(store: CatalogStore, table) -> None:
    copd = _features(store, table, "EPOC reagudizado", ["J44.9", "J44.1"])
    assert copd["J44.1"]["q_agree"] >= 2 and copd["J44.1"]["q_missing"] == 0
    assert copd["J44.9"]["q_missing"] >= 1
    # relative to the best of the pool and of its category
    assert copd["J44.9"]["q_agree_pool_gap"] == copd["J44.9"]["q_agree_category_gap"] >= 1
    assert copd["J44.1"]["q_agree_pool_gap"] == 0
    dm = _features(store, table, "DM2 con nefropatía", ["E11.9", "E11.21", "E10.21"])
    assert dm["E11.9"]["without_conflict"] == 1 and dm["E11.21"]["without_conflict"] == 0
    assert dm["E11.21"]["cognate_en"] > 0  # nefropatía ~ nephropathy
    assert dm["E10.21"]["q_conflict"] == 1  # type 1 against type 2


def test_laterality_conflict_and_validity_features(store: CatalogStore, table) -> None:
    found = _features(store, table, "fractura de cuello de fémur derecho",
                      ["S72.001A", "S72.002A", "S72.0"])
    assert found["S72.001A"]["q_agree"] == 1 and found["S72.001A"]["q_conflict"] == 0
    assert found["S72.002A"]["q_conflict"] == 1
    assert found["S72.001A"]["valid"] == 1 and found["S72.0"]["valid"] == 0
    assert found["S72.001A"]["depth"] == 7 and found["S72.0"]["depth"] == 4
    assert found["S72.0"]["category_votes"] == 3


def test_prior_and_retriever_features(store: CatalogStore, table) -> None:
    found = _features(store, table, "hipertensión arterial", ["I10", "I15.9"])
    assert found["I10"]["prior_code"] > found["I15.9"]["prior_code"]
    assert found["I10"]["bm25_rank"] < found["I15.9"]["bm25_rank"]
    assert found["I10"]["alias_rank"] == found["I15.9"]["alias_rank"]  # neither is an alias hit
    assert found["I10"]["cover_es"] == 0.5  # "hipertensión", not "arterial"
    assert found["I10"]["head_title"] == 1.0


@pytest.mark.parametrize(("es", "en"), [("nefropatia", "nephropathy"), ("neumonia", "pneumonia"),
                                         ("humero", "humerus"), ("fractura", "fracture")])
def test_cognates_meet_across_languages(es: str, en: str) -> None:
    assert cognate(es) == cognate(en) is not None


def test_candidate_space_completes_seventh_characters_from_episode_words(
    store: CatalogStore, table
) -> None:
    members = first_stage_members(store, PipelineConfig(retriever="bm25", alias_sources=TRAIN))
    generator = CandidateGenerator(store, members)
    space = generator.generate(
        analyze_query("fractura del cuello del fémur derecho, contacto sucesivo", table)
    )
    completed = [e for e in space.pool if e.via == "completion"]
    assert completed and all(e.code.endswith("D") and e.record.valid for e in completed)
    descendants = [e for e in space.pool if e.via == "descendant"]
    assert all(e.record.valid for e in descendants)
    # one full code per 6-character parent: the 7th character is the completion's choice
    parents = [e.code[:-1] for e in space.pool if e.record.kind == "extended"]
    assert len(parents) == len(set(parents))


def test_fuse_is_weighted_reciprocal_rank() -> None:
    a = [Candidate("A", 1.0, "x"), Candidate("B", 0.5, "x")]
    b = [Candidate("B", 9.0, "y")]
    fused = fuse([("x", 1.0, a), ("y", 2.0, b)])
    assert [c.code for c in fused] == ["B", "A"]
    assert fused[0].retriever == "x+y"
    assert fused[0].score == pytest.approx(1 / 62 + 2 / 61)


@pytest.mark.parametrize(
    ("text", "good"),
    [
        ("neumonía bilateral", ("J18.9",)),
        pytest.param(
            "EPOC reagudizado",
            ("J44.1",),
            # a known regression since the query encoder was tuned on CodiEsp train, where
            # EPOC alone is mostly J44.9: the tuned tower and the ranker both favour it
            # ("reagudizado" does not reach "with (acute) exacerbation"; issue 19 notes)
            marks=pytest.mark.xfail(strict=True, reason="J44.9 first, J44.1 not in the top 2"),
        ),
        ("IAM inferior", ("I21.19", "I21.11", "I21.1")),
        ("fractura de húmero proximal dcho, contacto sucesivo", ("S42.201D",)),
    ],
)
def test_examples_rank_a_right_code_first(ranked: SearchPipeline, text: str, good) -> None:
    results = ranked.search(text, top_k=5)
    assert results[0].code.startswith(good), [r.code for r in results]


@pytest.mark.parametrize(
    "text",
    ["fractura de cadera", "neumonía bilateral", "dolor torácico atípico", "hta",
     "fractura de húmero proximal dcho, contacto sucesivo", "x" * 5000, "de la con"],
)
def test_valid_codes_first_and_confidence_never_rises(ranked: SearchPipeline, text: str) -> None:
    results = ranked.search(text, top_k=10)
    validity = [r.valid for r in results]
    assert validity == sorted(validity, reverse=True)  # every valid code before any other
    confidences = [r.confidence for r in results if r.confidence is not None]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)


def test_completed_code_is_the_result_itself(ranked: SearchPipeline) -> None:
    results = ranked.search("fractura del cuello del fémur derecho, contacto sucesivo", top_k=3)
    assert results[0].valid and results[0].code.startswith("S72.0") and results[0].code[-1] == "D"


def test_typed_codes_keep_code_lookup(ranked: SearchPipeline) -> None:
    results = ranked.search("s72.0", top_k=3)
    assert results[0].code == "S72.0" and results[0].retrievers == ("code",)


def test_calibration_is_monotone_even_when_valid_codes_are_moved_up() -> None:
    confidences = RankerCalibration(scale=1.0, null_logit=0.0).confidences(
        np.array([0.5, 2.0, 1.0])
    )
    assert list(confidences) == sorted(confidences, reverse=True)


def _tiny_ranker(directory: Path) -> tuple[object, np.ndarray]:
    """A small LightGBM ranker on random rows, exported as the app loads it."""
    lgb = pytest.importorskip("lightgbm")
    pytest.importorskip("onnxmltools")
    import json

    from training.ranker.train import export_onnx

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (X[:, 0] + 0.1 * rng.normal(size=400) > 1).astype(int)
    model = lgb.LGBMRanker(n_estimators=20, min_child_samples=5, verbose=-1)
    model.fit(X, y, group=[20] * 20)
    directory.mkdir(parents=True, exist_ok=True)
    agreement = export_onnx(model, X, directory / MODEL_FILE)
    assert agreement["share_over_1e-4"] == 0
    config = {"features": list(FEATURES),
              "calibration": {"scale": 1.0, "null_logit": 0.0, "head": 10}}
    (directory / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    return model, X


def test_onnx_ranker_scores_as_lightgbm_does(tmp_path: Path) -> None:
    model, X = _tiny_ranker(tmp_path / "ranker")
    ranker = LearnedRanker(tmp_path / "ranker")
    np.testing.assert_allclose(ranker.scores(X), model.predict(X), atol=1e-4)


def test_ranker_trained_on_other_features_is_refused(tmp_path: Path) -> None:
    import json

    _tiny_ranker(tmp_path / "ranker")
    config = tmp_path / "ranker" / CONFIG_FILE
    data = json.loads(config.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    config.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="other features"):
        LearnedRanker(tmp_path / "ranker")


def test_damaged_ranker_falls_back_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "ranker").mkdir()
    (tmp_path / "ranker" / MODEL_FILE).write_bytes(b"not a model")
    (tmp_path / "ranker" / CONFIG_FILE).write_text("{", encoding="utf-8")
    ranker, problem = load_ranker(tmp_path)
    assert ranker is None and "unreadable ranker configuration" in problem


def test_bundled_ranker_matches_this_feature_set() -> None:
    ranker, problem = load_ranker()
    assert ranker is not None, problem
