"""Recipe curation: title copies, reviewer rejections, agreement with the real encoder, and
groups led by the flipped siblings."""

from __future__ import annotations

import pytest

from app.paths import resources_dir
from app.search.encoder import TextEncoder
from training.data.examples import Example
from training.recipe.config import CurationSettings
from training.recipe.curation import (
    HARD_NEGATIVE,
    SOURCE,
    Candidate,
    agreement_ranks,
    curate_recipe,
)
from training.recipe.grounding import CodeContext
from training.recipe.prompts import Task
from training.rerank.groups import NegativeMiner


def _candidate(ctx: CodeContext, text: str, code: str | None = None, style: str = "formal",
               lang: str = "es", flips: tuple[str, ...] = ()) -> Candidate:  # fmt: skip
    task = Task(ctx, lang, ("formal",), 3, 2)
    return Candidate(Example(text, code or ctx.code, lang, SOURCE, style), task, flips)


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(resources_dir() / "model")


def test_titles_and_rejections_are_dropped(
    contexts: dict[str, CodeContext], miner: NegativeMiner
) -> None:
    ctx = contexts["I21.9"]
    candidates = [
        _candidate(ctx, "Infarto agudo del miocardio, sin otra especificación"),  # own title
        _candidate(ctx, "INFARTO AGUDO DEL MIOCARDIO"),  # the parent's title
        _candidate(ctx, "IAM sin especificar"),
        _candidate(ctx, "infarto de miocardio agudo"),  # rejected below
    ]
    rejected = {("infarto de miocardio agudo", "I21.9")}
    settings = CurationSettings(check_language=False)
    curated = curate_recipe(candidates, set(miner.records), settings, miner, 1, rejected=rejected)
    assert [e.query for e in curated.examples] == ["IAM sin especificar"]
    assert curated.report.dropped["equals_title"] == 2
    assert curated.report.dropped["reviewer_rejected"] == 1


def test_groups_lead_with_the_flipped_siblings(
    contexts: dict[str, CodeContext], miner: NegativeMiner
) -> None:
    ctx = contexts["S72.001A"]
    flip = ctx.siblings[2].code
    candidates = [
        _candidate(ctx, "fx cuello fémur dcho cerrada", style="shorthand", flips=(flip,)),
        _candidate(ctx, "fx abierta cuello fémur dcho", code=flip, style=HARD_NEGATIVE,
                   flips=(ctx.code,)),  # fmt: skip
        _candidate(ctx, "closed fracture of right femoral neck", lang="en", flips=(flip,)),
    ]
    curated = curate_recipe(candidates, set(miner.records), CurationSettings(check_language=False),
                            miner, 1, group_size=8)  # fmt: skip
    assert len(curated.examples) == 3
    first, second = curated.groups  # Spanish only
    assert (first.positive, first.negatives[0]) == (ctx.code, (flip, "flipped"))
    assert (second.positive, second.negatives[0]) == (flip, (ctx.code, "flipped"))
    assert len(first.negatives) == 7 and curated.groups_by_negative["flipped"] == 2


def test_agreement_ranks_with_the_real_encoder(
    contexts: dict[str, CodeContext], encoder: TextEncoder
) -> None:
    ctx = contexts["E11.9"]
    titles = {ctx.code: ctx.title_en, **{s.code: s.title_en for s in ctx.siblings}}
    right = _candidate(ctx, "type 2 diabetes without complications", lang="en")
    wrong = _candidate(ctx, "type 2 diabetes with ketoacidosis", lang="en")
    ranks = agreement_ranks([right, wrong], encoder, titles)
    assert ranks[0] == 1 and ranks[1] > 1
    settings = CurationSettings(check_language=False, agreement=True, agreement_k=1)
    miner = NegativeMiner([])
    curated = curate_recipe([right, wrong], {ctx.code}, settings, miner, 1, encoder=encoder,
                            titles=titles)  # fmt: skip
    assert [e.query for e in curated.examples] == [right.example.query]
    assert curated.report.dropped["disagreement"] == 1
