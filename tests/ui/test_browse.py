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


def _visible_top_level(tree) -> list[str]:
    items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return [item.text(0) for item in items if not item.isHidden()]


def test_chapter_filter_restricts_the_tree(qtbot, window) -> None:
    # Given the Browse tab with its chapters loaded
    view, controller = window
    tree, combo = view.browse.tree, view.browse.chapter
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 22, timeout=5_000)
    assert combo.count() == 23 and combo.itemText(0) == "Todos los capítulos"
    assert combo.itemText(combo.findData("19")).startswith("Capítulo 19: Traumatismos")
    view.tabs.setCurrentWidget(view.browse)
    # When the coder picks chapter 19
    combo.setCurrentIndex(combo.findData("19"))
    # Then only that chapter is at the top level, opened lazily
    assert _visible_top_level(tree) == ["19"]
    qtbot.waitUntil(lambda: "S70-S79" in controller.browse.items, timeout=5_000)
    assert controller.browse.items["19"].isExpanded()
    # and toggling valid-only keeps the chapter filter
    view.browse.valid_only.setChecked(True)
    assert _visible_top_level(tree) == ["19"]
    view.browse.valid_only.setChecked(False)
    # When the details move to a code in another chapter, the tree shows all and follows
    controller.details.show_code("I10")
    qtbot.waitUntil(
        lambda: tree.currentItem() is not None and tree.currentItem().text(0) == "I10",
        timeout=5_000,
    )
    assert controller.browse.chapter_filter() is None
    assert len(_visible_top_level(tree)) == 22
