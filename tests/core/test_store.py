"""The store: migrations, pragmas, FTS search, product edits and price history."""
from __future__ import annotations

import sqlite3

import pytest

from shopai.jobs import Cancelled, Progress, UserError, run_job
from shopai.store import SCHEMA_VERSION, connect, open_store, products, transaction
from shopai.store.db import in_chunks
from shopai.store.schema import SchemaTooNew, schema_version


def test_migrations_bring_a_new_db_to_the_current_version(tmp_path):
    db = open_store(tmp_path / "s.sqlite")
    assert schema_version(db) == SCHEMA_VERSION
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"products", "orders", "order_lines", "customers", "price_history", "products_fts"} <= set(
        db.table_names())


def test_a_newer_schema_is_refused_plainly(tmp_path):
    db = open_store(tmp_path / "s.sqlite")
    db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(SchemaTooNew, match="newer ShopAI"):
        open_store(tmp_path / "s.sqlite")


def test_search_finds_words_prefixes_and_chinese(db_path):
    db = connect(db_path)
    products.add(db, sku="85123A", title="White hanging heart T-light holder", price=2.55)
    products.add(db, sku="CN1", title="红色 手提包", price=10)
    products.add(db, sku="X9", title="Blue denim jeans", category="Bottoms", price=30)
    assert [r["sku"] for r in products.search(db, "hanging hea")] == ["85123A"]
    assert [r["sku"] for r in products.search(db, "手提包")] == ["CN1"]
    assert products.search(db, "85123") and products.search(db, "85123")[0]["sku"] == "85123A"
    assert products.search(db, "\"'*") == []
    ids = products.search_ids(db, "", order_by="price", descending=True)
    assert [products.get(db, product_id=i)["sku"] for i in ids] == ["X9", "CN1", "85123A"]
    assert products.search_ids(db, "", category="Bottoms") == [products.get(db, sku="X9")["id"]]


def test_every_word_matches_as_a_prefix(db_path):
    db = connect(db_path)
    heart = products.add(db, sku="V1", title="Vintage Heart Tin")
    products.add(db, sku="V2", title="Vintage Star Tin")
    products.add(db, sku="H1", title="Heart Mug")
    assert products.search_ids(db, "vint hea") == [heart]
    assert products.search_ids(db, "hea vint") == [heart]  # the order of the words does not matter
    assert [r["id"] for r in products.search(db, "vint hea t")] == [heart]
    assert products.search_ids(db, "vint mug") == []  # every word must still match
    # a word with inner punctuation is one phrase, not "t*" AND "light*"
    tlight = products.add(db, sku="T1", title="Glass T-light Holder")
    products.add(db, sku="T2", title="Tea Light Candles")
    assert products.search_ids(db, "t-light") == [tlight]
    assert products.search_ids(db, "t-lig") == [tlight]


def test_chinese_words_are_found_inside_titles_written_without_spaces(db_path):
    db = connect(db_path)
    cup = products.add(db, sku="CN1", title="景德镇青花瓷杯", category="厨房")
    bowl = products.add(db, sku="CN2", title="白瓷碗 large", description="手工制作")
    products.add(db, sku="EN1", title="Blue and white cup")
    for text in ["瓷杯", "青花", "杯", "景德镇", "德镇青花瓷", "景德镇青花瓷杯", "青花 瓷杯", "镇 杯"]:
        assert products.search_ids(db, text) == [cup], text
        assert [r["id"] for r in products.search(db, text)] == [cup], text
    assert products.search_ids(db, "瓷") == [bowl, cup]  # sorted by title's pinyin: bai2 ci2 before jing3 de2
    assert [r["id"] for r in products.search(db, "手工")] == [bowl]  # the description is searched too
    assert products.search_ids(db, "白瓷 larg") == [bowl]  # with other words, each as a prefix
    assert products.search_ids(db, "厨房") == [cup]
    assert products.search_ids(db, "瓷杯", category="厨房") == [cup]
    assert products.search_ids(db, "瓷杯 large") == [] and products.search_ids(db, "花杯") == []
    products.update(db, cup, title="景德镇粉彩盘")
    assert products.search_ids(db, "瓷杯") == [] and products.search_ids(db, "粉彩") == [cup]


def test_latin_words_written_right_after_chinese_are_found(db_path):
    """unicode61 keeps "青花mug" as one term, so "mug" (a prefix search) missed it, and "iphone" missed
    "手机壳iPhone15"; a Latin word leading the run ("USB充电器") was always found."""
    db = connect(db_path)
    mug = products.add(db, sku="CN1", title="青花mug", description="手绘")
    case = products.add(db, sku="CN2", title="手机壳iPhone15 Pro")
    usb = products.add(db, sku="CN3", title="USB充电器")
    plain = products.add(db, sku="EN1", title="Blue mug")
    assert set(products.search_ids(db, "mug")) == {mug, plain}
    assert set(products.search_ids(db, "mu")) == {mug, plain}
    assert [r["id"] for r in products.search(db, "青花 mug")] == [mug]
    assert products.search_ids(db, "iphone") == [case] and products.search_ids(db, "iPhone15 pro") == [case]
    assert products.search_ids(db, "usb") == [usb] and products.search_ids(db, "充电") == [usb]
    assert products.search_ids(db, "blue mug") == [plain] and products.search_ids(db, "ug") == []
    # a product added or renamed later is found at once
    tea = products.add(db, sku="CN4", title="龙井teapot")
    assert products.search_ids(db, "teap") == [tea]
    products.update(db, tea, title="龙井kettle")
    assert products.search_ids(db, "teap") == [] and products.search_ids(db, "kett") == [tea]
    other = connect(db_path)  # another connection's change (an import) is seen too
    cup = products.add(other, sku="CN5", title="白瓷cup")
    assert products.search_ids(db, "cup") == [cup]
    # full-width letters, as a Chinese input method types them
    assert products.search_ids(db, "ｉｐｈｏｎｅ") == [case] and products.search_ids(db, "ＵＳＢ充电") == [usb]


def test_accents_fold_and_punctuation_alone_is_no_search(db_path):
    db = connect(db_path)
    cafe = products.add(db, sku="C1", title="Café crème mug")
    products.add(db, sku="C2", title="Tea towel")
    for text in ["cafe", "CAFÉ", "creme", "café crè"]:
        assert products.search_ids(db, text) == [cafe], text
    for text in ['"', "*", "-", "(", "_", "' *"]:
        assert products.fts_query(text) is None, text
        assert len(products.search_ids(db, text)) == 2 and products.search(db, text) == []


@pytest.mark.parametrize("fields, message", [
    ({"price": float("nan")}, "price must be a number"),
    ({"price": "nan"}, "price must be a number"),
    ({"price": "inf"}, "price must be a number"),
    ({"price": float("-inf")}, "price must be a number"),
    ({"price": "1e400"}, "price must be a number"),
    ({"cost": "NaN"}, "cost must be a number"),
    ({"stock": "99999999999999999999999"}, "Stock must be a whole number between"),
    ({"stock": -10**12}, "Stock must be a whole number between"),
    ({"stock": float("inf")}, "Stock must be a whole number"),
])
def test_non_finite_prices_and_huge_stock_are_refused_by_add_and_update(db_path, fields, message):
    db = connect(db_path)
    with pytest.raises(UserError, match=message):
        products.add(db, sku="N1", title="Mug", **fields)
    assert db.conn.execute("SELECT count(*) FROM products").fetchone()[0] == 0
    pid = products.add(db, sku="A", title="Mug", price=5, cost=2, stock=3)
    with pytest.raises(UserError, match=message):
        products.update(db, pid, **fields)
    row = products.get(db, product_id=pid)
    assert (row["price"], row["cost"], row["stock"]) == (5, 2, 3)
    assert db.conn.execute("SELECT count(*) FROM price_history").fetchone()[0] == 1


def test_edits_keep_search_and_price_history_in_step(db_path):
    db = connect(db_path)
    pid = products.add(db, sku="A", title="Red mug", price=5)
    products.update(db, pid, title="Green mug", price=6)
    assert products.search(db, "red") == []
    assert products.search(db, "green")[0]["id"] == pid
    prices = [r[0] for r in db.conn.execute("SELECT price FROM price_history WHERE product_id=? ORDER BY id", (pid,))]
    assert prices == [5, 6]
    products.delete(db, [pid])
    assert products.search(db, "green") == []


@pytest.mark.parametrize("fields, message", [
    ({"sku": "", "title": "x"}, "SKU"),
    ({"sku": "a", "title": "  "}, "title"),
    ({"sku": "a", "title": "x", "price": -1}, "negative"),
    ({"sku": "a", "title": "x", "price": "abc"}, "number"),
    ({"sku": "a", "title": "x", "stock": "1.5x"}, "whole number"),
])
def test_bad_product_values_are_refused_in_plain_words(db_path, fields, message):
    db = connect(db_path)
    with pytest.raises(UserError, match=message):
        products.add(db, **fields)
    assert db.conn.execute("SELECT count(*) FROM products").fetchone()[0] == 0


def test_duplicate_sku_is_refused(db_path):
    db = connect(db_path)
    products.add(db, sku="A", title="One")
    with pytest.raises(UserError, match="already a product"):
        products.add(db, sku="A", title="Two")


def test_transaction_rolls_back_when_a_job_is_cancelled(db_path):
    def job():
        db = connect(db_path)
        with transaction(db) as conn:
            for i in range(10):
                conn.execute("INSERT INTO products (sku, title) VALUES (?, ?)", (f"S{i}", f"T{i}"))
                yield Progress(i, 10)

    with pytest.raises(Cancelled):
        run_job(job(), should_stop=lambda: True)
    assert connect(db_path).conn.execute("SELECT count(*) FROM products").fetchone()[0] == 0
    assert run_job(job()) is None
    assert connect(db_path).conn.execute("SELECT count(*) FROM products").fetchone()[0] == 10


def test_two_connections_migrating_at_once_apply_each_migration_once(tmp_path):
    import threading

    from shopai.store.schema import migrate

    path = tmp_path / "s.sqlite"
    connect(path).conn.close()
    errors = []
    barrier = threading.Barrier(4)

    def run():
        db = connect(path)
        barrier.wait()
        try:
            migrate(db)
        except Exception as exc:  # "table already exists" if a migration ran twice
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert schema_version(connect(path)) == SCHEMA_VERSION


def test_customer_and_order_search_take_percent_and_underscore_literally(db_path):
    from shopai.customers.scores import score_ids
    from shopai.store.orders import order_ids, search_customers

    db = open_store(db_path)
    ids = {}
    for ext, name in [("100", "Plain Shop"), ("1_0", "Under Score"), ("200", "50% Off Ltd"), ("300", "back\\slash")]:
        ids[ext] = db.conn.execute("INSERT INTO customers (external_id, name) VALUES (?, ?)", (ext, name)).lastrowid
        db.conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) "
                        "VALUES (?, ?, '2024-01-02T10:00:00', 'paid', 5)", (f"O{ext}", ids[ext]))
        db.conn.execute("INSERT INTO customer_scores (customer_id, last_order, orders, visits, spend, recency_days) "
                        "VALUES (?, '2024-01-02', 1, 1, 5, 3)", (ids[ext],))

    def found(text):
        return sorted(c["external_id"] for c in search_customers(db, text))

    assert found("1_0") == ["1_0"]  # not "100"
    assert found("%") == ["200"]
    assert found("\\") == ["300"]
    assert found("1") == ["100", "1_0"]
    assert score_ids(db, text="1_") == [ids["1_0"]]
    assert score_ids(db, text="%") == [ids["200"]]
    assert len(order_ids(db, text="1_0")) == 1
    assert len(order_ids(db, text="%")) == 1


def test_a_chinese_customer_id_is_found_by_any_of_its_characters(db_path):
    """A shop that names customers in the id column (张伟): "伟" found nobody, the id matched only from its start."""
    from shopai.store.orders import search_customers

    db = open_store(db_path)
    for ext in ("张伟", "刘洋", "1234"):
        db.conn.execute("INSERT INTO customers (external_id) VALUES (?)", (ext,))
    found = lambda text: sorted(c["external_id"] for c in search_customers(db, text))  # noqa: E731
    assert found("伟") == ["张伟"] and found("张") == ["张伟"] and found("23") == []


def test_a_deleted_products_order_lines_keep_its_sku_and_title_through_export(db_path, tmp_path):
    import csv

    from shopai.io.export import export_orders
    from shopai.store.orders import lines

    db = open_store(db_path)
    pid = products.add(db, sku="GONE1", title="Retired mug", price=3.0)
    oid = db.conn.execute("INSERT INTO orders (external_id, ordered_at, status, total) "
                          "VALUES ('O1', '2024-01-02T10:00:00', 'paid', 6)").lastrowid
    db.conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                    "VALUES (?, ?, 2, 3.0, '2024-01-02T10:00:00')", (oid, pid))
    assert products.delete(db, [pid]) == 1
    [line] = lines(db, oid)
    assert line["sku"] == "GONE1" and line["title"] == "Retired mug (deleted)" and line["amount"] == 6.0
    out = tmp_path / "orders.csv"
    export_orders(db, out)
    [row] = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert (row["sku"], row["title"], row["quantity"]) == ("GONE1", "Retired mug", "2")


def test_a_shop_from_before_vendors_gets_the_column_and_a_search_index_that_still_finds_everything(tmp_path):
    import sqlite3

    from shopai.store.schema import MIGRATIONS, _split_sql

    path = tmp_path / "old.sqlite"
    old = [name for name, _ in MIGRATIONS].index("core_0003")  # a shop from just before it
    conn = sqlite3.connect(path)
    for _name, sql in MIGRATIONS[:old]:
        for statement in _split_sql(sql):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {old}")
    conn.execute("INSERT INTO products (sku, title, description, category) VALUES "
                 "('OLD1', 'Vintage heart lantern', 'Glass and zinc', 'Lanterns')")
    conn.commit()
    conn.close()
    db = open_store(path)
    assert schema_version(db) == SCHEMA_VERSION
    assert [r["sku"] for r in products.search(db, "zinc lantern")] == ["OLD1"]  # the index was filled again
    pid = products.get(db, sku="OLD1")["id"]
    assert products.get(db, product_id=pid)["vendor"] is None
    products.update(db, pid, vendor="  Paper Lantern Co ")
    assert products.get(db, product_id=pid)["vendor"] == "Paper Lantern Co"
    assert [r["sku"] for r in products.search(db, "paper co")] == ["OLD1"]
    assert products.search_ids(db, "paper") == [pid]
    products.update(db, pid, vendor="")
    assert products.get(db, product_id=pid)["vendor"] is None and products.search(db, "paper") == []
    products.delete(db, [pid])
    assert db.conn.execute("INSERT INTO products_fts(products_fts) VALUES ('integrity-check')") is not None


def test_in_chunks_splits_any_number_of_values_under_sqlites_variable_limit(db_path):
    assert list(in_chunks([])) == []
    assert [(len(c), m.count("?")) for c, m in in_chunks(range(1001), size=500)] == [(500, 500), (500, 500), (1, 1)]
    db = open_store(db_path)
    db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # as SQLite builds before 3.32 have it
    ids = [products.add(db, sku=f"S{i}", title=f"Thing {i}") for i in range(3)]
    asked = [*ids, *range(10**6, 10**6 + 2_000)]  # more than that binds in one statement
    assert sorted(products.fetch_rows(db, asked)) == ids
    assert products.set_status(db, asked, "draft") == 3
    assert products.delete(db, asked) == 3
