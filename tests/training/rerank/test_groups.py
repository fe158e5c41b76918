"""Listwise group construction on the real catalog: negatives are real, distinct neighbours."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from training.data.catalog_view import CatalogView
from training.rerank.groups import (
    QUALIFIER,
    RETRIEVED,
    SIBLING,
    Group,
    NegativeMiner,
    build_group,
    build_groups,
    qualifier_key,
    read_groups,
)


@pytest.fixture(scope="module")
def miner(store: CatalogStore) -> NegativeMiner:
    return NegativeMiner(CatalogView.load(store).records.values())


def test_qualifier_key_drops_only_qualifiers() -> None:
    assert qualifier_key("Fracture of right femur") == qualifier_key("Fracture of left femur")
    assert qualifier_key("Acute appendicitis with perforation") == qualifier_key(
        "Acute appendicitis without perforation"
    )
    assert qualifier_key("Fracture of femur") != qualifier_key("Fracture of tibia")


def test_qualifier_variants_are_laterality_and_episode(miner: NegativeMiner) -> None:
    assert {"M17.12", "M17.10"} <= set(miner.qualifier_variants("M17.11"))  # left, unspecified
    hip = set(miner.qualifier_variants("S72.001A"))
    assert {"S72.002A", "S72.001D", "S72.001S"} <= hip  # other side, other episodes
    assert "S72.001A" not in hip
    assert all(c.startswith("S72.") for c in hip)


def test_siblings_of_an_extended_code_keep_its_seventh_character(miner: NegativeMiner) -> None:
    siblings = miner.siblings("S72.001A")
    assert siblings and all(c.startswith("S72.") and c.endswith("A") for c in siblings)
    assert not any(c.startswith("S72.001") for c in siblings)
    assert "I21.4" in miner.siblings("I21.9")
    assert miner.siblings("NOT.A.CODE") == []


def test_group_negatives_are_distinct_and_never_the_positive(miner: NegativeMiner) -> None:
    rng = random.Random(0)
    for code in ("S72.001A", "E11.9", "M17.11", "I10", "N39.0", "C50.912"):
        group = build_group(
            "consulta", code, miner, rng, size=12, retrieved=["I10", code, "E11.9", "ZZZ"]
        )
        assert group is not None
        codes = [c for c, _ in group.negatives]
        assert code not in codes
        assert len(codes) == len(set(codes)) <= 11
        assert "ZZZ" not in codes  # not a catalog code
        assert {k for _, k in group.negatives} <= {SIBLING, QUALIFIER, RETRIEVED}


def test_ablation_kinds_are_respected(miner: NegativeMiner) -> None:
    pairs = [("fractura de cuello femoral derecho", "S72.001A", "t"),
             ("gonartrosis", "M17.11", "t")]
    groups = build_groups(
        pairs, miner, size=8, retrieve=lambda q, k: ["I10", "E11.9"], kinds=(SIBLING, RETRIEVED)
    )
    assert len(groups) == 2
    assert all(k != QUALIFIER for g in groups for _, k in g.negatives)
    assert all(("I10", RETRIEVED) in g.negatives for g in groups)
    no_retrieved = build_groups(pairs, miner, size=8, kinds=(SIBLING, QUALIFIER))
    assert all(k != RETRIEVED for g in no_retrieved for _, k in g.negatives)


def test_groups_are_deterministic_per_seed(miner: NegativeMiner) -> None:
    pairs = [("fractura de cadera", "S72.001A", "t"), ("diabetes", "E11.9", "t"),
             ("desconocido", "NOT.A.CODE", "t")]
    first = build_groups(pairs, miner, seed=3)
    assert len(first) == 2  # the unknown code is skipped
    assert first == build_groups(pairs, miner, seed=3)
    assert first != build_groups(pairs, miner, seed=4)
    assert first[0].to_dict()["negatives"][0].keys() == {"code", "kind"}


def test_recipe_groups_are_read_back(miner: NegativeMiner, tmp_path: Path) -> None:
    path = tmp_path / "groups.jsonl"
    group = Group("fx cuello fémur dcho", "S72.001A",
                  (("S72.002A", "flipped"), ("NOPE", "sibling")), "recipe")  # fmt: skip
    orphan = Group("x", "S72.001A", (("NOPE", "sibling"),), "recipe")
    path.write_text("\n".join(json.dumps(g.to_dict()) for g in (group, orphan)) + "\n\n")
    (read,) = read_groups(path, miner.records)
    assert read == Group(group.query, group.positive, (("S72.002A", "flipped"),), "recipe")
    path.write_text('{"query": "x"}\n')
    with pytest.raises(ValueError, match="groups.jsonl:1: not a group"):
        read_groups(path, miner.records)
