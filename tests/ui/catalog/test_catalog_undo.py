"""Catalog tab: what can be taken back — a delete (Undo, Ctrl+Z, after a restart too), an edit, a status change."""
from __future__ import annotations

from PySide6.QtCore import Qt

from shopai.store import products
from shopai_ui.tabs.catalog import CatalogTab

from catalog_shop import row_of_sku, titles


def test_an_edit_can_be_undone_from_the_message_after_it(tab):
    pid = products.get(tab.ctx.db, sku="22752")["id"]
    before = products.get(tab.ctx.db, product_id=pid)
    tab.select_ids([pid])
    editor = tab.edit_selected()
    editor.title_edit.setText("Set of 7 babushka dolls (renamed)")
    editor.price.setText("9.99")
    assert editor.save(), editor.message.text()
    assert tab.message.text() == "Saved “Set of 7 babushka dolls (renamed)”." and tab.message.action_button.isVisible()
    tab.message.action_button.click()
    after = products.get(tab.ctx.db, product_id=pid)
    assert {k: after[k] for k in products.EDITABLE} == {k: before[k] for k in products.EDITABLE}
    assert tab.selected_ids() == [pid]
    prices = [r[0] for r in tab.ctx.db.conn.execute("SELECT price FROM price_history WHERE product_id = ? "
                                                    "ORDER BY id", (pid,))]
    assert prices[-2:] == [9.99, before["price"]]  # the change and its undo are both in the history

    editor = tab.edit_selected()  # saved without a change: nothing to undo
    assert editor.save()
    assert not tab.message.action_button.isVisible()


def test_delete_several_asks_first(tab, qtbot, monkeypatch):
    asked = []
    monkeypatch.setattr(tab, "confirm_delete", lambda n, title: asked.append(n) or False)
    tab.table.setFocus()
    tab.table.selectRow(row_of_sku(tab, "22752"))
    tab.table.selectionModel().select(
        tab.model.index(row_of_sku(tab, "71053"), 0),
        tab.table.selectionModel().SelectionFlag.Select | tab.table.selectionModel().SelectionFlag.Rows)
    assert len(tab.selected_ids()) == 2
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    assert asked == [2] and tab.model.rowCount() == 6  # said no: nothing deleted
    monkeypatch.setattr(tab, "confirm_delete", lambda n, title: True)
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=5000)  # in the background
    assert products.get(tab.ctx.db, sku="22752") is None and products.get(tab.ctx.db, sku="71053") is None
    assert len(tab.selected_ids()) == 1  # a neighbour is selected, ready for the next key


def test_deleted_products_come_back_with_undo_or_ctrl_z(tab, qtbot, monkeypatch):
    monkeypatch.setattr(tab, "confirm_delete", lambda n, title: True)
    before = titles(tab)
    tab.table.setFocus()
    tab.select_ids([products.get(tab.ctx.db, sku=s)["id"] for s in ("22752", "71053")])
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=5000)
    assert tab.message.text().startswith("Deleted 2 products") and tab.message.action_button.text() == "Undo"
    tab.message.action_button.click()  # the message's Undo
    qtbot.waitUntil(lambda: tab.message.text() == "Put back 2 products.", timeout=5000)
    assert titles(tab) == before and not tab.message.action_button.isVisible()
    assert sorted(products.get(tab.ctx.db, product_id=i)["sku"] for i in tab.selected_ids()) == ["22752", "71053"]

    tab.select_ids([products.get(tab.ctx.db, sku="22752")["id"]])
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 5, timeout=5000)
    qtbot.keyClick(tab.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: titles(tab) == before, timeout=5000)
    qtbot.keyClick(tab.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tab.message.text() == "No deleted products to put back."


def test_a_delete_from_an_earlier_session_is_put_back_only_when_confirmed(shop, qtbot, monkeypatch):
    from shopai.store.deletions import delete_products

    delete_products(shop.db, [products.get(shop.db, sku="22752")["id"]])  # before this window opened
    tab = CatalogTab(shop)
    qtbot.addWidget(tab)
    asked = []
    monkeypatch.setattr(tab, "confirm_undo_delete", lambda d: asked.append(d.titles) or False)
    assert tab.undo_delete() == 0 and products.get(shop.db, sku="22752") is None
    monkeypatch.setattr(tab, "confirm_undo_delete", lambda d: asked.append(d.titles) or True)
    assert tab.undo_delete() == 1
    qtbot.waitUntil(lambda: products.get(shop.db, sku="22752") is not None, timeout=5000)
    assert len(asked) == 2 and len(asked[0]) == 1
    tab.shutdown()


def test_marking_products_can_be_undone_and_each_gets_its_own_status_back(tab):
    ids = {s: products.get(tab.ctx.db, sku=s)["id"] for s in ("22752", "71053", "84029E")}
    products.set_status(tab.ctx.db, [ids["22752"]], "draft")
    tab.ctx.notify_changed({"products"})
    tab.select_ids(list(ids.values()))
    assert tab.set_status_of_selected("archived") == 3
    assert tab.message.text() == "3 products marked archived." and tab.message.action_button.text() == "Undo"
    tab.message.action_button.click()
    assert {s: products.get(tab.ctx.db, sku=s)["status"] for s in ids} == {
        "22752": "draft", "71053": "active", "84029E": "active"}  # not all made "active": each as it was
    assert sorted(tab.selected_ids()) == sorted(ids.values())
