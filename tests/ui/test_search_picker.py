"""The type-to-search picker asks SQL for a few matches and never loads the whole table."""
from __future__ import annotations

from PySide6.QtCore import Qt

from shopai.store import connect, orders, products, transaction
from shopai_ui.widgets.search_picker import SearchPicker


def _big_catalog(db_path, n=20_000):
    db = connect(db_path)
    with transaction(db) as conn:
        conn.executemany("INSERT INTO products (sku, title) VALUES (?, ?)",
                         [(f"S{i}", f"Mug number {i}") for i in range(n)])
        conn.execute("INSERT INTO products (sku, title) VALUES ('HH', 'White hanging heart holder')")
    return db


def test_picker_shows_only_top_matches_and_emits_the_choice(qtbot, db_path):
    db = _big_catalog(db_path)
    calls = []

    def search(text):
        calls.append(text)
        return [(f"{r['title']} [{r['sku']}]", r["sku"]) for r in products.choices(db, text, 30)]

    picker = SearchPicker(search)
    qtbot.addWidget(picker)
    picker.show()
    picker.setFocus()
    qtbot.keyClicks(picker, "hanging")
    qtbot.waitUntil(lambda: picker.matches.rowCount() == 1, timeout=3000)
    with qtbot.waitSignal(picker.picked) as blocker:
        qtbot.keyClick(picker, Qt.Key.Key_Return)
    assert blocker.args == ["HH"]
    assert picker.current_data() == "HH"
    picker.clear()
    picker.refresh_matches()
    assert picker.matches.rowCount() == 30


def test_customer_search_by_id_prefix(db_path):
    db = connect(db_path)
    with transaction(db) as conn:
        conn.executemany("INSERT INTO customers (external_id, name) VALUES (?, ?)",
                         [("17850", "Ann"), ("17851", "Bob"), ("12000", "Cy")])
    assert [c["external_id"] for c in orders.search_customers(db, "1785")] == ["17850", "17851"]
    assert [c["external_id"] for c in orders.search_customers(db, "bob")] == ["17851"]
    assert len(orders.search_customers(db, "", limit=2)) == 2
