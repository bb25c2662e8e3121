"""Chinese titles sort by their pinyin among the Latin ones; keys follow renames by any writer."""
from __future__ import annotations

from shopai.io import import_job, undo_import
from shopai.jobs import run_job
from shopai.store import open_store
from shopai.store import products as product_store
from shopai.store.title_keys import fill_title_keys, title_key

FRUIT = [("P1", "苹果手机壳"), ("P2", "香蕉"), ("P3", "apple juice"), ("P4", "Banana bread"), ("P5", "橙子"),
         ("P6", "Zebra mug"), ("P7", "景德镇青花瓷杯")]


def titles_sorted(db, descending=False) -> list[str]:
    ids = product_store.search_ids(db, "", order_by="title", descending=descending)
    rows = product_store.fetch_rows(db, ids)
    return [rows[i]["title"] for i in ids]


def test_title_key_is_pinyin_with_tones_and_none_without_chinese():
    assert title_key("苹果") == "ping2 guo3"
    assert title_key("青花mug") == "qing1 hua1 mug"
    assert title_key("Blue mug") is None and title_key("") is None and title_key(None) is None


def test_chinese_titles_sort_by_their_sound_among_latin_ones(db_path):
    db = open_store(db_path)
    for sku, title in FRUIT:
        product_store.add(db, sku=sku, title=title)
    expected = ["apple juice", "Banana bread", "橙子", "景德镇青花瓷杯", "苹果手机壳", "香蕉", "Zebra mug"]
    assert titles_sorted(db) == expected
    assert titles_sorted(db, descending=True) == expected[::-1]
    # a rename in the editor, and one by another program (the trigger empties the key; the next fill mends it)
    product_store.update(db, product_store.get(db, sku="P2")["id"], title="安全帽")  # an1 quan2 mao4
    assert titles_sorted(db)[0] == "安全帽"
    db.conn.execute("UPDATE products SET title = '仔细' WHERE sku = 'P5'")  # zi3 xi4: after Zebra
    db.conn.commit()
    assert db.conn.execute("SELECT title_key FROM products WHERE sku = 'P5'").fetchone()[0] is None
    assert fill_title_keys(db.conn) == 1
    assert titles_sorted(db)[-1] == "仔细"


def test_imports_and_undo_keep_the_keys(db_path, tmp_path):
    path = tmp_path / "商品.csv"
    path.write_text("商家编码,商品名称,价格\nA1,香蕉,3\nA2,苹果,5\nA3,Apple pie,4\n", encoding="gbk")
    report = run_job(import_job(db_path, path, "catalog"))
    db = open_store(db_path)
    assert titles_sorted(db) == ["Apple pie", "苹果", "香蕉"]
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("商家编码,商品名称,价格\nA1,爱心杯,3\n", encoding="gbk")  # ai4 xin1 bei1: first
    second = run_job(import_job(db_path, renamed, "catalog"))
    assert titles_sorted(db)[0] == "爱心杯"
    undo_import(db, second.import_id)
    assert titles_sorted(db) == ["Apple pie", "苹果", "香蕉"]
    undo_import(db, report.import_id)
    assert titles_sorted(db) == []


def test_an_older_shop_gets_its_keys_when_it_is_migrated(tmp_path):
    from shopai.store.schema import MIGRATIONS, _split_sql

    import sqlite3

    old = [name for name, _ in MIGRATIONS].index("core_0005")
    db_path = str(tmp_path / "old.sqlite")
    conn = sqlite3.connect(db_path)
    for _name, sql in MIGRATIONS[:old]:
        for statement in _split_sql(sql):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {old}")
    conn.execute("INSERT INTO products (sku, title) VALUES ('X1', '香蕉'), ('X2', '苹果'), ('X3', 'Orange')")
    conn.commit()
    conn.close()
    db = open_store(db_path)
    assert titles_sorted(db) == ["Orange", "苹果", "香蕉"]



def test_a_title_another_program_renamed_gets_its_key_when_the_shop_is_opened(db_path):
    import sqlite3

    import sqlite_utils

    from shopai.store.title_keys import DUE, fill_when_opening

    db = open_store(db_path)
    for sku, title in FRUIT:
        product_store.add(db, sku=sku, title=title)
    db.conn.close()
    other = sqlite3.connect(db_path)  # another program: only our trigger that empties the key runs
    other.execute("UPDATE products SET title = '仔细' WHERE sku = 'P5'")
    other.commit()
    plan = other.execute(f"EXPLAIN QUERY PLAN SELECT id, title FROM products WHERE {DUE}").fetchall()
    assert "products_title_key_due" in str(plan)  # found through the small index, not by reading every title
    other.close()
    db = open_store(db_path)
    assert fill_when_opening(db) == 1 and fill_when_opening(db) == 0
    assert titles_sorted(db)[-1] == "仔细"
    db.conn.execute("UPDATE products SET title = '安全帽' WHERE sku = 'P5'")
    db.conn.execute("UPDATE products SET title_key = NULL WHERE sku = 'P5'")  # as another program leaves it
    db.conn.close()
    readonly = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    # a shop that cannot be written keeps it for later, and says nothing
    assert fill_when_opening(sqlite_utils.Database(readonly)) == 0
    readonly.close()
