"""The search panel says what it corrected ("¿Quería decir…?") and which lay terms it read."""

from __future__ import annotations

from app.catalog.store import CatalogStore
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.ui.controllers.search import query_notes, search_with_notes


class _Plain:
    """A searcher without query analysis (as the panel's test doubles are)."""

    def search(self, text: str, top_k: int = 10) -> list:
        return []


def test_notes_name_the_correction_and_the_lay_term(store: CatalogStore) -> None:
    pipeline = SearchPipeline(store, config=PipelineConfig(retriever="bm25", rerank=False))
    assert query_notes(pipeline.analyze("cefalea tensinal")) == (
        "¿Quería decir «cefalea tensional»? (buscado también)"
    )
    assert query_notes(pipeline.analyze("almoranas")) == (
        "¿Quería decir «almorranas»? (buscado también) · «almorranas» = hemorroides"
    )
    assert query_notes(pipeline.analyze("hipotiroidismo")) == ""
    results, notes = search_with_notes(pipeline, "culebrilla", 5)
    assert results[0].code.startswith("B02") and notes == "«culebrilla» = herpes zóster"
    assert search_with_notes(_Plain(), "culebrilla", 5) == ([], "")


def test_typed_slip_shows_did_you_mean(qtbot, window) -> None:
    view, controller = window
    with qtbot.waitSignal(controller.search.results_shown, timeout=10_000):
        qtbot.keyClicks(view.search_box, "hipotiroidsmo")
    assert controller.search.results[0].code.startswith("E03")
    label = view.result_count.text()
    assert "resultados" in label and "¿Quería decir «hipotiroidismo»?" in label
    with qtbot.waitSignal(controller.search.results_shown, timeout=10_000):
        controller.search.submit("hipotiroidismo")
    assert "Quería decir" not in view.result_count.text()
