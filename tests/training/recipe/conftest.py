"""The real default catalog's view, the negative miner, and grounded tasks over it."""

from __future__ import annotations

import pytest

from app.catalog.store import CatalogStore
from training.data.catalog_view import CatalogView
from training.recipe.config import RunConfig
from training.recipe.grounding import CodeContext, ground
from training.recipe.prompts import Task, build_tasks
from training.rerank.groups import NegativeMiner


@pytest.fixture(scope="session")
def view(store: CatalogStore) -> CatalogView:
    return CatalogView.load(store)


@pytest.fixture(scope="session")
def miner(view: CatalogView) -> NegativeMiner:
    return NegativeMiner(view.records.values())


@pytest.fixture(scope="session")
def contexts(view: CatalogView, miner: NegativeMiner) -> dict[str, CodeContext]:
    codes = ["S72.001A", "I21.9", "J45.909", "E11.9", "N18.4", "K35.80"]
    return {c: ground(view, miner, view.records[c]) for c in codes}


@pytest.fixture()
def tasks(contexts: dict[str, CodeContext]) -> list[Task]:
    return build_tasks(list(contexts.values()), RunConfig(languages=("es", "en")), ("es", "en"))
