"""File ▸ Past imports…: every import listed, newest first, and an old one undone days later from the window."""
from __future__ import annotations

from shopai.io import import_job
from shopai.jobs import run_job
from shopai.store import orders, products
from shopai_ui.imports_dialog import ImportsDialog


def _import(ctx, tmp_path, name: str, text: str) -> int:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return run_job(import_job(ctx.db_path, path, "catalog")).import_id


def test_an_older_import_is_undone_from_the_list_and_the_newer_one_stays(ctx, qtbot, tmp_path):
    first = _import(ctx, tmp_path, "suppliers.csv", "sku,title,price\nA1,Heart lantern,5\nA2,Zinc bucket,3\n")
    second = _import(ctx, tmp_path, "more.csv", "sku,title,price\nB1,Doormat,9\n")
    dialog = ImportsDialog(ctx)
    qtbot.addWidget(dialog)
    assert [r["id"] for r in dialog.rows] == [second, first]  # newest first
    assert [dialog.table.item(r, 3).text() for r in range(2)] == ["more.csv", "suppliers.csv"]
    assert dialog.table.item(1, 4).text() == "2" and dialog.undo_button.isEnabled()
    dialog.table.selectRow(1)
    asked = []
    dialog.confirm_undo = lambda row: asked.append(row["id"]) or True
    changed = []
    ctx.dataChanged.connect(changed.append)
    assert dialog.undo_selected()
    qtbot.waitUntil(lambda: dialog.message.text().startswith(f"Import {first} was undone"), timeout=10_000)
    assert asked == [first] and changed and "products" in changed[-1]
    assert sorted(r[0] for r in ctx.db.conn.execute("SELECT sku FROM products")) == ["B1"]
    assert dialog.table.item(1, 6).text() != ""  # marked undone, with when
    dialog.table.selectRow(1)
    assert not dialog.undo_button.isEnabled()  # once is enough
    dialog.table.selectRow(0)
    assert dialog.undo_button.isEnabled()


def test_asked_and_refused_nothing_changes_and_an_empty_shop_says_so(ctx, qtbot, tmp_path):
    empty = ImportsDialog(ctx)
    qtbot.addWidget(empty)
    assert empty.message.text() == "Nothing has been imported into this shop yet."
    assert not empty.undo_button.isEnabled()
    _import(ctx, tmp_path, "one.csv", "sku,title\nA1,Heart lantern\n")
    dialog = ImportsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.confirm_undo = lambda row: False
    assert not dialog.undo_selected()
    assert products.get(ctx.db, sku="A1") is not None and orders.stats(ctx.db)["products"] == 1


def test_the_window_opens_it_from_the_file_menu(ctx, qtbot):
    from shopai_ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    action = next(a for a in window.file_menu.actions() if a.text().replace("&", "") == "Past imports…")
    assert action is not None
    dialog = window.show_imports()
    assert isinstance(dialog, ImportsDialog) and dialog.isVisible()
    dialog.close()
