"""Catalog import: per-row problems, one transaction, cancel, undo, photos, price history, 100k products."""
from __future__ import annotations

import csv
import hashlib
import random
import time
from pathlib import Path

import pytest

from shopai.io import import_job, list_imports, preview, undo_import
from shopai.jobs import Progress, UserError, run_job
from shopai.store import open_store
from shopai.store.products import search

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def write_csv(path: Path, header, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def snapshot(db) -> str:
    """A digest of every row of every shop table, to prove nothing changed."""
    h = hashlib.sha256()
    for table in ("products", "categories", "customers", "orders", "order_lines", "price_history", "imports",
                  "import_changes"):
        for row in db.conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            h.update(repr(row).encode())
    h.update(repr(db.conn.execute("SELECT rowid, * FROM products_fts ORDER BY rowid").fetchall()).encode())
    return h.hexdigest()


def test_every_per_row_problem_is_reported_and_valid_rows_imported(db_path, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["sku", "title", "price", "stock"], [
        ["P1", "Good mug", "3.50", "4"],
        ["P2", "", "2.00", "1"],            # missing title
        ["P3", "Bad price", "three", "1"],  # not a number
        ["P4", "Negative", "-2.00", "1"],   # negative
        ["P1", "Second P1", "9.99", "1"],   # duplicate SKU in the file: keep the first
        ["P5", "Free sample", "", "x"],     # empty price is fine; a bad stock is noted, not fatal
    ])
    db = open_store(db_path)
    pv = preview(db, path, "catalog")
    assert pv.rows_total == 6 and pv.rows_ok == 2 and pv.would_create == 2
    skipped = {p.row: p.message for p in pv.problems if p.skipped}
    assert set(skipped) == {3, 4, 5, 6}
    assert "no title" in skipped[3]
    assert "not a number" in skipped[4]
    assert "negative" in skipped[5]
    assert "duplicate SKU P1 (first on row 2)" in skipped[6]
    assert [p.row for p in pv.problems if not p.skipped] == [7]
    assert db.conn.execute("SELECT count(*) FROM products").fetchone()[0] == 0  # dry run wrote nothing
    report = run_job(import_job(db_path, path, "catalog"))
    assert (report.created, report.updated, report.skipped) == (2, 0, 4)
    assert db.conn.execute("SELECT title, price FROM products WHERE sku = 'P1'").fetchone() == ("Good mug", 3.5)


def test_update_records_price_history_and_undo_restores(db_path, tmp_path):
    first = write_csv(tmp_path / "a.csv", ["sku", "title", "price", "category"],
                      [["U1", "Blue mug", "3.00", "Kitchen"], ["U2", "Red mug", "3.00", "Kitchen"]])
    r1 = run_job(import_job(db_path, first, "catalog"))
    db = open_store(db_path)
    # an older edit time, so the undo must put updated_at back rather than happen to share a second with it
    db.conn.execute("UPDATE products SET updated_at = '2020-01-01T00:00:00'")
    db.conn.commit()
    before = snapshot(db)
    second = write_csv(tmp_path / "b.csv", ["sku", "title", "price", "category"],
                       [["U1", "Blue mug (large)", "3.50", "Kitchen"], ["U2", "Red mug", "3.00", "Kitchen"],
                        ["U3", "Green mug", "2.75", "Mugs"]])
    r2 = run_job(import_job(db_path, second, "catalog"))
    assert (r2.created, r2.updated, r2.details["unchanged"]) == (1, 1, 1)
    hist = db.conn.execute("SELECT p.sku, h.price, h.source FROM price_history h JOIN products p "
                           "ON p.id = h.product_id ORDER BY h.id").fetchall()
    assert hist == [("U1", 3.0, "import"), ("U2", 3.0, "import"), ("U1", 3.5, "import"), ("U3", 2.75, "import")]
    assert search(db, "large")[0]["sku"] == "U1"
    counts = undo_import(db, r2.import_id)
    assert counts["restored"] == 1 and counts["products_deleted"] == 1
    # back to exactly the first import's state, apart from the undo mark on import 2
    db.conn.execute("DELETE FROM import_changes WHERE import_id = ?", (r2.import_id,))
    db.conn.execute("DELETE FROM imports WHERE id = ?", (r2.import_id,))
    assert snapshot(db) == before
    assert search(db, "large") == []
    with pytest.raises(UserError):
        undo_import(db, 999)
    assert [i["id"] for i in list_imports(db)] == [r1.import_id]


def test_undoing_an_import_never_changes_a_product_that_took_a_deleted_products_id(db_path, tmp_path):
    # SQLite gives a new product the highest id + 1, so a product added after the last one was deleted gets
    # that product's id; undoing the import that had changed the deleted product wrote its old values into
    # the new one.
    from shopai.store import products

    run_job(import_job(db_path, write_csv(tmp_path / "a.csv", ["sku", "title", "price"], [["U1", "Blue mug", "3"]]),
                       "catalog"))
    r2 = run_job(import_job(db_path, write_csv(tmp_path / "b.csv", ["sku", "title", "price"],
                                               [["U1", "Blue mug (large)", "3.50"]]), "catalog"))
    db = open_store(db_path)
    old_id = products.get(db, sku="U1")["id"]
    products.delete(db, [old_id])
    assert products.add(db, sku="N1", title="Doormat", price=9) == old_id
    counts = undo_import(db, r2.import_id)
    assert counts["restored"] == 0
    assert db.conn.execute("SELECT sku, title, price FROM products").fetchall() == [("N1", "Doormat", 9.0)]


def test_undo_twice_is_refused(db_path, tmp_path):
    path = write_csv(tmp_path / "a.csv", ["sku", "title"], [["X1", "Thing"]])
    report = run_job(import_job(db_path, path, "catalog"))
    db = open_store(db_path)
    undo_import(db, report.import_id)
    with pytest.raises(UserError, match="already undone"):
        undo_import(db, report.import_id)
    assert list_imports(db)[0]["undone_at"]


def test_cancel_midway_leaves_the_database_unchanged(db_path, tmp_path):
    run_job(import_job(db_path, write_csv(tmp_path / "a.csv", ["sku", "title", "price"], [["K0", "Keep", "1"]]),
                       "catalog"))
    db = open_store(db_path)
    before = snapshot(db)
    rows = [[f"C{i:05d}", f"Cancelled product {i}", "1.00"] for i in range(12_000)]
    job = import_job(db_path, write_csv(tmp_path / "big.csv", ["sku", "title", "price"], rows), "catalog")
    seen = []
    for progress in job:
        assert isinstance(progress, Progress)
        seen.append(progress.message)
        if progress.message.startswith("Saving products"):
            break  # rows are written, the transaction is open
    job.close()
    assert any(m.startswith("Saving products") for m in seen)
    assert snapshot(db) == before
    # the FTS trigger set aside for the bulk insert is back: a new product is searchable
    from shopai.store.products import add
    add(db, sku="N1", title="Brand new teapot")
    assert search(db, "teapot")[0]["sku"] == "N1"


def test_photo_paths_relative_to_the_csv_are_copied(db_path, tmp_path):
    folder = tmp_path / "export"
    (folder / "pics").mkdir(parents=True)
    (folder / "pics" / "mug.png").write_bytes((DATA / "images" / "mug.png").read_bytes())
    path = write_csv(folder / "c.csv", ["sku", "title", "image"],
                     [["I1", "Mug with photo", "pics/mug.png"], ["I2", "Missing photo", "pics/none.png"]])
    report = run_job(import_job(db_path, path, "catalog"))
    db = open_store(db_path)
    stored = db.conn.execute("SELECT image_path FROM products WHERE sku = 'I1'").fetchone()[0]
    from shopai.paths import subdir
    assert Path(stored).parent == subdir(db_path, "images")
    assert Path(stored).read_bytes() == (DATA / "images" / "mug.png").read_bytes()
    assert db.conn.execute("SELECT image_path FROM products WHERE sku = 'I2'").fetchone()[0] is None
    assert any("not found" in p.message and not p.skipped for p in report.problems)


def test_a_file_with_no_valid_row_writes_nothing(db_path, tmp_path):
    db = open_store(db_path)
    before = snapshot(db)
    path = write_csv(tmp_path / "c.csv", ["sku", "title", "price"], [["E1", "", "1"], ["E2", "x", "-1"]])
    with pytest.raises(UserError, match="no product could be imported"):
        run_job(import_job(db_path, path, "catalog"))
    assert snapshot(db) == before


def test_missing_title_column_is_a_user_error(db_path, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["amount", "colour"], [["1", "red"]])
    pv = preview(open_store(db_path), path, "catalog")
    assert pv.missing_required == ["title"] and pv.rows_ok == 0
    with pytest.raises(UserError, match="--map title=COLUMN"):
        run_job(import_job(db_path, path, "catalog"))
    # with a SKU column the file could update known products; when none of its SKUs is known it says so
    path = write_csv(tmp_path / "c.csv", ["code", "amount"], [["E1", "1"]])
    pv = preview(open_store(db_path), path, "catalog")
    assert pv.missing_required == [] and pv.rows_ok == 0
    assert [p.message for p in pv.problems] == ["no title; skipped (SKU E1 is not in the shop)"]
    with pytest.raises(UserError, match="--map title=COLUMN"):
        run_job(import_job(db_path, path, "catalog"))


def test_known_skus_are_updated_without_a_title(db_path, tmp_path):
    run_job(import_job(db_path, write_csv(tmp_path / "a.csv", ["sku", "title", "price", "stock"],
                                          [["K1", "Heart holder", "2.95", "100"], ["K2", "Pink clock", "3.75", "32"]]),
                       "catalog"))
    db = open_store(db_path)
    rows = lambda: db.conn.execute("SELECT sku, title, price, stock FROM products ORDER BY sku").fetchall()
    report = run_job(import_job(db_path, write_csv(tmp_path / "b.csv", ["sku", "title", "price", "stock"],
                                                   [["K1", "", "3.10", ""], ["K2", "Pink clock (new)", "", "99"],
                                                    ["K9", "", "1.00", "1"]]), "catalog"))
    assert (report.created, report.updated, report.skipped) == (0, 2, 1)
    assert [(p.row, p.message) for p in report.problems] == [(4, "no title; skipped (SKU K9 is not in the shop)")]
    assert rows() == [("K1", "Heart holder", 3.1, 100), ("K2", "Pink clock (new)", 3.75, 99)]
    # a file with no title column at all updates prices and stock
    path = write_csv(tmp_path / "c.csv", ["sku", "price", "stock"], [["K1", "3.20", "7"], ["K2", "4.00", ""]])
    pv = preview(db, path, "catalog")
    assert pv.missing_required == [] and (pv.rows_ok, pv.would_update) == (2, 2)
    assert run_job(import_job(db_path, path, "catalog")).updated == 2
    assert rows() == [("K1", "Heart holder", 3.2, 7), ("K2", "Pink clock (new)", 4.0, 99)]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-16"])
def test_chinese_titles_round_trip_through_export(db_path, tmp_path, encoding):
    from shopai.io.export import export_catalog
    titles = ["红色陶瓷茶杯", "手工香薰蜡烛", "帆布购物袋"]
    path = write_csv(tmp_path / "zh.csv", ["商品编码", "商品名称", "价格"],
                     [[f"Z{i}", t, "12.50"] for i, t in enumerate(titles)], encoding=encoding)
    run_job(import_job(db_path, path, "catalog"))
    db = open_store(db_path)
    assert search(db, "手工")[0]["title"] == "手工香薰蜡烛"  # unicode61: a CJK run is one token, found by prefix
    out = tmp_path / "out.csv"
    export_catalog(db, out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    db2_path = str(tmp_path / "second" / "shop.sqlite")
    open_store(db2_path).conn.close()
    run_job(import_job(db2_path, out, "catalog"))
    got = [r[0] for r in open_store(db2_path).conn.execute("SELECT title FROM products ORDER BY sku")]
    assert got == titles


def test_windows_1252_semicolon_sheet(db_path, tmp_path):
    path = tmp_path / "eu.csv"
    path.write_bytes("Référence;Nom;Prix\nF1;Crème brûlée £;4,50\nF2;Pâté;1.234,00\n".encode("cp1252"))
    pv = preview(open_store(db_path), path, "catalog", mapping={"sku": "Référence", "title": "Nom",
                                                                  "price": "Prix"})
    assert (pv.encoding, pv.delimiter) == ("cp1252", ";")
    assert [(s["title"], s["price"]) for s in pv.sample] == [("Crème brûlée £", 4.5), ("Pâté", 1234.0)]


@pytest.mark.slow
def test_100k_product_catalog_imports_and_searches_fast(db_path, tmp_path):
    rng = random.Random(3)
    words = "red blue green heart star lantern candle mug bowl tote bag card wrap garden bird owl".split()
    rows = [[f"S{i:06d}", " ".join(rng.choice(words) for _ in range(4)).title(), f"{rng.uniform(1, 40):.2f}",
             rng.choice(["Kitchen", "Bags", "Garden"])] for i in range(100_000)]
    rows[77_777][1] = "Unique Zanzibar Teapot"
    path = write_csv(tmp_path / "big.csv", ["sku", "title", "price", "category"], rows)
    report = run_job(import_job(db_path, path, "catalog"))
    assert report.created == 100_000
    db = open_store(db_path)
    assert db.conn.execute("SELECT count(*) FROM products_fts").fetchone()[0] == 100_000
    start = time.perf_counter()
    hits = search(db, "zanzib")
    assert time.perf_counter() - start < 0.5
    assert [h["sku"] for h in hits] == ["S077777"]
    assert len(search(db, "red lantern", limit=20)) == 20


def test_preview_job_and_formula_guard_round_trip(db_path, tmp_path):
    from shopai.io import preview_job
    from shopai.io.export import export_catalog
    path = write_csv(tmp_path / "c.csv", ["sku", "title", "price"], [["Q1", "=1+1 mug", "2"], ["Q2", "-Minus", "1"]])
    pv = run_job(preview_job(db_path, path, "catalog"))
    assert pv.rows_ok == 2 and pv.would_create == 2
    run_job(import_job(db_path, path, "catalog"))
    out = tmp_path / "out.csv"
    export_catalog(open_store(db_path), out)
    assert "'=1+1 mug" in out.read_text(encoding="utf-8-sig")
    second = str(tmp_path / "b" / "shop.sqlite")
    open_store(second).conn.close()
    run_job(import_job(second, out, "catalog"))
    titles = [r[0] for r in open_store(second).conn.execute("SELECT title FROM products ORDER BY sku")]
    assert titles == ["=1+1 mug", "-Minus"]


def test_an_import_into_a_shop_with_data_backs_it_up_first(db_path, tmp_path):
    from shopai.io import import_job
    from shopai.jobs import run_job
    from shopai.safety.backup import list_backups
    from shopai.store import connect, products

    products.add(connect(db_path), sku="OLD", title="Kept safe")
    csv = tmp_path / "more.csv"
    csv.write_text("sku,title,price\nNEW,New mug,2.50\n", encoding="utf-8")
    run_job(import_job(db_path, csv, "catalog"))
    [backup] = list_backups(db_path)
    assert backup.reason == "import"
    backed_up = connect(backup.path).conn.execute("SELECT sku FROM products").fetchall()
    assert backed_up == [("OLD",)]


def test_infinite_or_nan_price_is_refused_and_search_json_stays_valid(db_path, tmp_path):
    import json
    path = write_csv(tmp_path / "c.csv", ["sku", "title", "price", "stock"],
                     [["N1", "Nan price", "NaN", "1"], ["N2", "Inf price", "inf", "2"], ["N3", "Normal", "2.00", "nan"]])
    report = run_job(import_job(db_path, path, "catalog"))
    assert (report.created, report.skipped) == (1, 2)
    assert all("is not a number" in p.message for p in report.problems)
    db = open_store(db_path)
    assert db.conn.execute("SELECT sku, price, stock FROM products").fetchall() == [("N3", 2.0, None)]
    json.dumps(search(db, "normal"), allow_nan=False)  # no Infinity in the JSON


def test_reimporting_an_exported_catalog_does_not_copy_its_photos_again(db_path, tmp_path):
    from shopai.io.export import export_catalog
    from shopai.paths import subdir
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "mug.png").write_bytes((DATA / "images" / "mug.png").read_bytes())
    original = write_csv(tmp_path / "c.csv", ["sku", "title", "price", "image"], [["I1", "Red mug", "3", "pics/mug.png"]])
    run_job(import_job(db_path, original, "catalog"))
    db = open_store(db_path)
    stored = db.conn.execute("SELECT image_path FROM products").fetchone()[0]
    images = subdir(db_path, "images")
    out = tmp_path / "out.csv"
    export_catalog(db, out)
    for path in (out, out, original):  # the shop's own file, then a file with the same content
        assert preview(db, path, "catalog").would_update == 0
        report = run_job(import_job(db_path, path, "catalog"))
        assert (report.created, report.updated) == (0, 0)
    assert db.conn.execute("SELECT image_path FROM products").fetchone()[0] == stored
    assert [p.name for p in images.iterdir()] == [Path(stored).name]
    # an exported catalog read into another shop keeps the photo's name (no second hash appended)
    second = str(tmp_path / "b" / "shop.sqlite")
    open_store(second).conn.close()
    run_job(import_job(second, out, "catalog"))
    assert [p.name for p in subdir(second, "images").iterdir()] == [Path(stored).name]
    # a different photo is a change, in the dry run and in the import
    (tmp_path / "pics" / "mug.png").write_bytes(b"\x89PNG other bytes")
    assert preview(db, original, "catalog").would_update == 1
    assert run_job(import_job(db_path, original, "catalog")).updated == 1


def test_decimal_comma_file_reads_a_dot_and_three_digits_as_thousands(db_path, tmp_path):
    path = tmp_path / "de.csv"
    path.write_text("SKU;Title;Price;Stock\nDE-1;Fahrrad;1.299;1.000\nDE-2;Helm;49,90;12\nDE-3;Schloss;12,50;3\n")
    pv = preview(open_store(db_path), path, "catalog")
    assert pv.mapping["stock"] == "Stock"
    assert [(s["price"], s["stock"]) for s in pv.sample] == [(1299.0, 1000), (49.9, 12), (12.5, 3)]
    # a file with decimal points keeps 1.299 as it is
    path.write_text("SKU;Title;Price\nUS-1;Bike;1.299\nUS-2;Helmet;49.90\n")
    assert [s["price"] for s in preview(open_store(db_path), path, "catalog").sample] == [1.299, 49.9]


@pytest.mark.parametrize("values, expected", [
    (["1.299", "49,90", "€12,50"], True),
    (["1.234,50", "800"], True),
    (["1.299", "49.90"], False),
    (["1,299", "1.299"], False),   # three digits after either: tells nothing
    (["3,50", "1,234.50"], False),
    ([], False),
])
def test_decimal_comma_verdict(values, expected):
    from shopai.io.values import decimal_comma_from, parse_number
    assert decimal_comma_from(values) is expected
    assert parse_number("1.299", decimal_comma=True) == 1299 and parse_number("1.299") == 1.299
    assert parse_number("1.5", decimal_comma=True) == 1.5 and parse_number("1.234,5", decimal_comma=True) == 1234.5


def test_a_row_the_reader_cannot_split_is_counted_in_the_rows_of_the_file(db_path, tmp_path):
    path = tmp_path / "broken_quotes.csv"
    path.write_text('sku,title,price\nBQ-1,Good mug,3.00\nBQ-2,"Bad mug,4.00\nBQ-3,Next mug,5.00\n'
                    'BQ-4,Last mug,6.00\n', encoding="utf-8")
    from shopai.io import preview
    from shopai.store import open_store

    pv = preview(open_store(db_path), path, "catalog")
    skipped = [p for p in pv.problems if p.skipped]
    assert pv.rows_total == pv.rows_ok + len(skipped) == 4


def test_undoing_a_catalog_import_keeps_the_products_later_orders_name(db_path, tmp_path):
    from shopai.io import import_job, undo_import

    cat = write_csv(tmp_path / "cat.csv", ["sku", "title", "price"], [["K1", "Kept mug", "3.00"],
                                                                      ["K2", "Unsold mug", "2.00"]])
    r1 = run_job(import_job(db_path, cat, "catalog"))
    orders = tmp_path / "orders.csv"
    orders.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                      "900,K1,Kept mug,2,2024-03-01 10:00:00,3.00,17850,UK\n", encoding="utf-8")
    run_job(import_job(db_path, orders, "orders"))
    db = open_store(db_path)
    counts = undo_import(db, r1.import_id)
    assert counts["products_deleted"] == 1 and counts["products_kept"] == 1
    line = db.conn.execute("SELECT p.sku FROM order_lines l LEFT JOIN products p ON p.id = l.product_id").fetchall()
    assert line == [("K1",)]  # the order line still names its product
    assert db.conn.execute("SELECT count(*) FROM products WHERE sku = 'K2'").fetchone()[0] == 0
    prices = "SELECT count(*) FROM price_history h JOIN products p ON p.id = h.product_id WHERE p.sku = 'K1'"
    assert db.conn.execute(prices).fetchone()[0] >= 1  # the kept product keeps its price history
    # once the orders are undone too, nothing names K1 any more: it goes as well
    orders_import = db.conn.execute("SELECT max(id) FROM imports").fetchone()[0]
    assert undo_import(db, orders_import)["products_deleted"] == 1
    assert db.conn.execute("SELECT count(*) FROM products").fetchone()[0] == 0


def test_undo_keeps_the_categories_of_the_products_later_orders_keep(db_path, tmp_path):
    from shopai.io.export import category_paths

    cat = write_csv(tmp_path / "cat.csv", ["sku", "title", "price", "category"], [
        ["K1", "Kept mug", "3.00", "Home > Kitchen > Mugs"], ["K2", "Unsold pot", "2.00", "Garden > Pots"],
        ["K3", "Unsold plate", "2.00", "Home > Kitchen > Plates"]])
    db = open_store(db_path)
    db.conn.execute("INSERT INTO categories (name) VALUES ('Shop own')")  # the shop's, before the import
    db.conn.commit()
    r1 = run_job(import_job(db_path, cat, "catalog"))
    orders = tmp_path / "orders.csv"
    orders.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                      "900,K1,Kept mug,2,2024-03-01 10:00:00,3.00,17850,UK\n", encoding="utf-8")
    run_job(import_job(db_path, orders, "orders"))
    counts = undo_import(db, r1.import_id)
    assert counts["products_kept"] == 1 and counts["categories_kept"] == 3 and counts["categories_deleted"] == 3
    names = {r[0] for r in db.conn.execute("SELECT name FROM categories")}
    assert names == {"Shop own", "Home", "Kitchen", "Mugs"}  # the kept product's category and those above it
    assert category_paths(db)["Mugs"] == "Home > Kitchen > Mugs"  # an export still writes the whole path
    # undoing the orders too lets the product go, and the categories only it used with it
    orders_import = db.conn.execute("SELECT max(id) FROM imports").fetchone()[0]
    counts = undo_import(db, orders_import)
    assert counts["products_deleted"] == 1 and counts["categories_deleted"] == 3
    assert [r[0] for r in db.conn.execute("SELECT name FROM categories")] == ["Shop own"]


def test_undo_keeps_a_category_the_owner_has_put_a_product_in_since(db_path, tmp_path):
    from shopai.store.products import add

    r1 = run_job(import_job(db_path, write_csv(tmp_path / "c.csv", ["sku", "title", "category"],
                                               [["A1", "Mug", "Home > Mugs"]]), "catalog"))
    db = open_store(db_path)
    add(db, sku="OWN", title="The owner's mug", category="Mugs")
    counts = undo_import(db, r1.import_id)
    assert counts["products_deleted"] == 1 and counts["categories_deleted"] == 0
    assert {r[0] for r in db.conn.execute("SELECT name FROM categories")} == {"Home", "Mugs"}


@pytest.mark.parametrize("body, expected", [
    ("<p>Nice mug</p><script>alert(1)</script>", "Nice mug"),
    ("<style type='text/css'>p { color: red }</style><p>Red &amp; white</p>", "Red & white"),
    ("<p>Before</p><SCRIPT src=x.js></SCRIPT ><p>after</p>", "Before after"),
    ("<p>Mug</p><!-- internal note --><p>blue</p>", "Mug blue"),
    ("<p>Mug</p><script>document.write('<p>x</p>')", "Mug"),  # never closed: to the end
    ("Plain text, 3 < 4 and 5 > 2", "Plain text, 3 < 4 and 5 > 2"),
])
def test_html_descriptions_lose_scripts_styles_and_comments(db_path, tmp_path, body, expected):
    path = write_csv(tmp_path / "c.csv", ["sku", "title", "description"], [["H1", "Mug", body]])
    assert preview(open_store(db_path), path, "catalog").sample[0]["description"] == expected


def test_notes_name_the_products_given_a_sku_and_count_in_plain_words(db_path, tmp_path):
    one = write_csv(tmp_path / "one.csv", ["sku", "title", "price"], [["", "Blue Mug", "3"], ["S2", "Cup", "2"]])
    notes = preview(open_store(db_path), one, "catalog").notes
    assert notes == ["1 product has no SKU; it gets one made from its name: “Blue Mug” → blue-mug."]
    many = write_csv(tmp_path / "many.csv", ["sku", "title", "image"],
                     [["", f"Mug {i}", "none.png" if i < 1 else ""] for i in range(5)])
    notes = preview(open_store(db_path), many, "catalog").notes
    assert notes == ["5 products have no SKU; each gets one made from its name: “Mug 0” → mug-0, “Mug 1” → mug-1, "
                     "“Mug 2” → mug-2, and 2 more.",
                     "1 image file is not found next to the file (the rows are listed)."]


def test_a_slash_inside_a_category_name_is_part_of_the_name(db_path, tmp_path):
    """"新鲜/冷冻水果" (fresh/frozen fruit) became "冷冻水果" under a parent "新鲜", and an exported
    "食品 > 蔬菜/水果" came back as "水果"."""
    path = write_csv(tmp_path / "cat.csv", ["sku", "title", "category", "price"], [
        ["F1", "香蕉", "新鲜/冷冻水果", "5"], ["F2", "芒果", "食品 > 蔬菜/水果", "9"],
        ["E1", "Tee", "T-shirts/Tops", "10"], ["E2", "Mug", "Home / Kitchen", "8"], ["E3", "Bowl", "Home | Dining", "7"]])
    run_job(import_job(db_path, path, "catalog"))
    db = open_store(db_path)
    got = dict(db.conn.execute("SELECT sku, category FROM products"))
    assert got == {"F1": "新鲜/冷冻水果", "F2": "蔬菜/水果", "E1": "T-shirts/Tops", "E2": "Kitchen", "E3": "Dining"}
    parents = dict(db.conn.execute("SELECT c.name, p.name FROM categories c LEFT JOIN categories p "
                                   "ON p.id = c.parent_id"))
    assert parents["蔬菜/水果"] == "食品" and parents["新鲜/冷冻水果"] is None and parents["Kitchen"] == "Home"
    assert "新鲜" not in parents
