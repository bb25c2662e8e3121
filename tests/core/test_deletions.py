"""Deleting products can be undone: the products, what went with them and the order lines that named them."""
from __future__ import annotations

import pytest

from shopai.jobs import UserError
from shopai.store import open_store, products
from shopai.store import deletions
from shopai.store.deletions import KEEP, delete_products, last_deletion, undo_deletion


@pytest.fixture
def shop(db_path):
    db = open_store(db_path)
    ids = {sku: products.add(db, sku=sku, title=title, price=price, category="Decor")
           for sku, title, price in [("A1", "Heart lantern", 5.0), ("B2", "景德镇青花瓷杯", 12.0), ("C3", "Zinc bucket", 3.0)]}
    products.update(db, ids["A1"], price=6.0)  # a second price in its history
    conn = db.conn
    conn.execute("INSERT INTO customers (external_id) VALUES ('K1')")
    conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) "
                 "VALUES ('O1', 1, '2026-11-01T10:00:00', 'paid', 17)")
    for sku, qty, price in [("A1", 1, 5.0), ("B2", 1, 12.0), ("C3", 2, 3.0)]:
        conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                     "VALUES (1, ?, ?, ?, '2026-11-01T10:00:00')", (ids[sku], qty, price))
    conn.execute("INSERT INTO categorize_photos (product_id, image_path, dhash, embedding, added_at) "
                 "VALUES (?, 'a1.png', 'ff00', ?, '2026-11-01')", (ids["A1"], b"\x00\x01\xfe\xff"))
    conn.execute("INSERT INTO categorize_suggestions (product_id, suggestions_json, created_at) "
                 "VALUES (?, '[]', '2026-11-01')", (ids["B2"],))
    return db, ids


def _snapshot(db):
    """Every row the delete touches, to compare before and after an undo."""
    q = {
        "products": "SELECT * FROM products ORDER BY id",
        "price_history": "SELECT product_id, price, changed_at, source FROM price_history ORDER BY id",
        "order_lines": "SELECT id, product_id, deleted_sku, deleted_title FROM order_lines ORDER BY id",
        "photos": "SELECT * FROM categorize_photos",
        "suggestions": "SELECT * FROM categorize_suggestions",
    }
    return {k: db.conn.execute(sql).fetchall() for k, sql in q.items()}


def test_a_delete_undone_puts_everything_back_as_it_was(shop):
    db, ids = shop
    before = _snapshot(db)
    deletion = delete_products(db, [ids["A1"], ids["B2"]])
    assert deletion.count == 2 and deletion.titles == ["Heart lantern", "景德镇青花瓷杯"]
    assert [r[0] for r in db.conn.execute("SELECT sku FROM products")] == ["C3"]
    lines = db.conn.execute("SELECT product_id, deleted_sku FROM order_lines ORDER BY id").fetchall()
    assert lines == [(None, "A1"), (None, "B2"), (ids["C3"], None)]  # the past orders still say what was sold
    assert db.conn.execute("SELECT count(*) FROM price_history WHERE product_id = ?", (ids["A1"],)).fetchone()[0] == 0
    assert last_deletion(db).id == deletion.id

    restored = undo_deletion(db, deletion.id)
    assert restored.ids == {ids["A1"]: ids["A1"], ids["B2"]: ids["B2"]} and restored.skipped_skus == []
    assert _snapshot(db) == before
    assert products.search_ids(db, "lantern") == [ids["A1"]]  # in the search index again
    assert last_deletion(db) is None
    with pytest.raises(UserError, match="already undone"):
        undo_deletion(db, deletion.id)


def test_an_id_taken_since_gives_a_new_id_and_a_sku_back_in_the_catalog_is_left_out(shop):
    db, ids = shop
    deletion = delete_products(db, [ids["B2"], ids["C3"]])  # the highest ids: new products take them again
    assert products.add(db, sku="D4", title="Doormat") == ids["B2"]
    assert products.add(db, sku="B2", title="Blue cup, imported again") == ids["C3"]
    restored = undo_deletion(db, deletion.id)
    assert restored.skipped_skus == ["B2"]
    c3 = restored.ids[ids["C3"]]
    assert c3 not in (ids["C3"], ids["B2"])
    assert db.conn.execute("SELECT title FROM products WHERE id = ?", (c3,)).fetchone()[0] == "Zinc bucket"
    lines = dict(db.conn.execute("SELECT unit_price, product_id FROM order_lines").fetchall())
    assert lines[3.0] == c3  # its order line follows it to the new id
    assert lines[12.0] is None  # B2's line keeps its SKU and title: the B2 in the catalog now is another product
    assert db.conn.execute("SELECT deleted_sku FROM order_lines WHERE unit_price = 12").fetchone()[0] == "B2"
    assert db.conn.execute("SELECT count(*) FROM price_history WHERE product_id = ?", (c3,)).fetchone()[0] == 1


def test_deletes_are_kept_across_a_restart_and_only_the_last_ones(shop, db_path):
    db, ids = shop
    first = delete_products(db, [ids["A1"]])
    db.conn.close()
    db = open_store(db_path)
    assert last_deletion(db).id == first.id
    for i in range(KEEP):
        delete_products(db, [products.add(db, sku=f"T{i}", title=f"Thing {i}")])
    with pytest.raises(UserError, match="no longer be undone"):
        undo_deletion(db, first.id)
    assert delete_products(db, [123456]) is None  # nothing to delete: nothing recorded


def test_old_deletes_are_forgotten_past_the_size_limit_but_never_the_newest(shop, monkeypatch):
    db, ids = shop
    first = delete_products(db, [ids["A1"]])
    size = db.conn.execute("SELECT length(payload) FROM product_deletions").fetchone()[0]
    monkeypatch.setattr(deletions, "KEEP_BYTES", size + 1)  # room for one record, not two
    delete_products(db, [ids["B2"]])
    with pytest.raises(UserError, match="no longer be undone"):
        undo_deletion(db, first.id)
    monkeypatch.setattr(deletions, "KEEP_BYTES", 1)  # smaller than any record: the newest is kept anyway
    third = delete_products(db, [ids["C3"]])
    assert [r[0] for r in db.conn.execute("SELECT id FROM product_deletions")] == [third.id]
    assert list(undo_deletion(db, third.id).ids) == [ids["C3"]]


def test_an_undo_that_fails_half_way_changes_nothing(shop, monkeypatch):
    db, ids = shop
    deletion = delete_products(db, [ids["A1"], ids["B2"]])
    after_delete = _snapshot(db)

    def broken(conn, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("shopai.store.title_keys.fill_title_keys", broken)
    with pytest.raises(OSError):
        undo_deletion(db, deletion.id)
    assert _snapshot(db) == after_delete
    monkeypatch.undo()
    assert set(undo_deletion(db, deletion.id).ids) == {ids["A1"], ids["B2"]}


def test_products_delete_can_be_undone_too(shop):
    db, ids = shop
    assert products.delete(db, [ids["C3"]]) == 1
    assert deletions.last_deletion(db).count == 1


def test_an_undo_points_at_nothing_what_is_gone_since(shop):
    # a product's import row deleted meanwhile (the app marks imports undone rather than deleting them, but
    # another tool may): the product comes back without it instead of the whole undo failing on the key
    db, ids = shop
    db.conn.execute("INSERT INTO imports (id, kind, file, started_at) VALUES (7, 'catalog', 'x.csv', 'now')")
    db.conn.execute("UPDATE products SET import_id = 7 WHERE id = ?", (ids["A1"],))
    deletion = delete_products(db, [ids["A1"]])
    db.conn.execute("DELETE FROM imports WHERE id = 7")
    undo_deletion(db, deletion.id)
    assert db.conn.execute("SELECT import_id FROM products WHERE id = ?", (ids["A1"],)).fetchone() == (None,)


def test_a_record_is_compressed_and_a_plain_json_one_is_read_too(shop):
    import json

    from shopai.store.deletions import read_payload

    db, ids = shop
    deletion = delete_products(db, [ids["A1"], ids["B2"], ids["C3"]])
    payload = db.conn.execute("SELECT payload FROM product_deletions WHERE id = ?", (deletion.id,)).fetchone()[0]
    kept = read_payload(payload)
    assert isinstance(payload, bytes) and len(payload) < len(json.dumps(kept))
    db.conn.execute("UPDATE product_deletions SET payload = ? WHERE id = ?", (json.dumps(kept), deletion.id))
    assert len(undo_deletion(db, deletion.id).ids) == 3
