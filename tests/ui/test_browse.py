"""Browse tree: lazy levels, selection drives the details, details drive the tree."""

from __future__ import annotations

from app.ui.browse import chapters, path_children


def test_browse_data(store) -> None:
    chapter_codes = [r.code for r in chapters(store)]
    assert chapter_codes[:3] == ["1", "2", "3"] and len(chapter_codes) == 22
    assert [p for p, _ in path_children(store, "S72.0")] == ["19", "S70-S79", "S72"]


def test_tree_expands_lazily_and_selects(qtbot, window) -> None:
    view, controller = window
    tree = view.browse.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 22, timeout=5_000)
    chapter = controller.browse.items["19"]
    assert chapter.childCount() == 1  # placeholder until expanded
    chapter.setExpanded(True)
    qtbot.waitUntil(lambda: "S70-S79" in controller.browse.items, timeout=5_000)
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000) as blocker:
        tree.setCurrentItem(controller.browse.items["S70-S79"])
    assert blocker.args == ["S70-S79"]


def test_details_navigation_reveals_code_in_tree(qtbot, window) -> None:
    view, controller = window
    tree = view.browse.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 22, timeout=5_000)
    view.tabs.setCurrentWidget(view.browse)
    controller.details.show_code("S72.001A")
    qtbot.waitUntil(
        lambda: tree.currentItem() is not None and tree.currentItem().text(0) == "S72.001A",
        timeout=5_000,
    )
    assert view.details.code_label.text() == "S72.001A"
